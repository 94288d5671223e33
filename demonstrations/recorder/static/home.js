// The home page: once an episode is saved, its answer draft (kept by the answer page) is removed.
(() => {
  "use strict";
  const banner = document.getElementById("finished-banner");
  if (!banner || !banner.dataset.finished) return;
  try {
    localStorage.removeItem(`webgpt-answer-draft:${banner.dataset.finished}`);
  } catch (error) {
    // storage is off: there is no draft to remove
  }
})();
