// The browsing page's layout helpers: the earlier quotes and past actions fold away behind a toggle
// (remembered for the episode while the tab is open), and after every step the page window is scrolled
// into view if it is not, so the page text stays on screen however long the episode gets.
(() => {
  "use strict";
  const root = document.querySelector(".browse");
  const browser = document.getElementById("browser");
  if (!root || !browser) return;
  const key = `webgpt-show-older:${root.dataset.episode}`;

  function shown() {
    try {
      return new Set(JSON.parse(sessionStorage.getItem(key) || "[]"));
    } catch (error) {
      return new Set();
    }
  }

  function apply() {
    const open = shown();
    browser.querySelectorAll("[data-toggle-older]").forEach((button) => {
      const id = button.dataset.toggleOlder;
      const section = button.closest(".section");
      const expanded = open.has(id);
      section.classList.toggle("show-older", expanded);
      button.setAttribute("aria-expanded", String(expanded));
      button.textContent = button.textContent.replace(/\((show|hide)\)$/, expanded ? "(hide)" : "(show)");
    });
  }

  function keepPageInView() {
    const area = document.getElementById("window-text");
    if (!area) return;
    const box = area.getBoundingClientRect();
    if (box.top < 0 || box.bottom > window.innerHeight) area.scrollIntoView({ block: "nearest" });
  }

  browser.addEventListener("click", (event) => {
    const button = event.target.closest("[data-toggle-older]");
    if (!button) return;
    event.preventDefault();
    const open = shown();
    const id = button.dataset.toggleOlder;
    if (open.has(id)) open.delete(id);
    else open.add(id);
    try {
      sessionStorage.setItem(key, JSON.stringify([...open]));
    } catch (error) {
      // private mode: the toggle still works until the next step
    }
    apply();
  });

  browser.addEventListener("submit", (event) => {
    const message = event.target.dataset && event.target.dataset.confirmSubmit;
    if (message && !window.confirm(message)) {
      event.preventDefault();
      return;
    }
    // Parts of the page that arrive with a step are rendered without the CSRF token: add it.
    const field = event.target.querySelector('input[name="csrf_token"]');
    if (field && !field.value) field.value = document.querySelector('meta[name="csrf-token"]').content;
  });

  new MutationObserver(() => {
    apply();
    keepPageInView();
  }).observe(browser, { childList: true });
  apply();
  keepPageInView();
})();
