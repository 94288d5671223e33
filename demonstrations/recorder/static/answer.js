// The answer page: insert [n] citations and show, as the annotator types, what the server's citation
// rule says of the answer (the same rule that judges it on submit and that the agent's answers meet).
(() => {
  "use strict";
  const form = document.getElementById("answer-form");
  const text = document.getElementById("answer-text");
  const report = document.getElementById("citation-check");
  const submit = document.getElementById("submit-answer");
  const quotes = Number(form.dataset.quotes);
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  const checkUrl = `${form.getAttribute("action")}/check`;
  const draftKey = `webgpt-answer-draft:${form.dataset.episode}`;
  const draftStatus = document.getElementById("draft-status");
  let pending = null;
  let latest = 0;

  // The draft is kept in localStorage for this episode as the annotator types, restored on reload and
  // removed once the answer is stored (the home page's "saved" banner removes it).
  function saveDraft() {
    try {
      if (text.value.trim()) localStorage.setItem(draftKey, text.value);
      else localStorage.removeItem(draftKey);
    } catch (error) {
      draftStatus.textContent = "This browser does not keep drafts (storage is off): the draft is lost on reload.";
    }
  }

  function restoreDraft() {
    let saved = null;
    try {
      saved = localStorage.getItem(draftKey);
    } catch (error) {
      return;
    }
    if (saved && !text.value.trim()) {
      text.value = saved;
      draftStatus.textContent = "Your draft from before the reload was restored.";
    } else if (saved && saved !== text.value) {
      saveDraft(); // the server sent back a draft (a refused submit): that one is the latest
    }
  }

  async function check() {
    const asked = ++latest;
    let result;
    try {
      const response = await fetch(checkUrl, {
        method: "POST",
        headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRF-Token": csrf },
        body: JSON.stringify({ answer: text.value }),
      });
      if (!response.ok) throw new Error(`the check failed (${response.status})`);
      result = await response.json();
    } catch (error) {
      if (asked !== latest) return;
      report.textContent = `the answer could not be checked (${error.message}); it is checked again on submit`;
      report.className = "check";
      submit.disabled = false;
      return;
    }
    if (asked !== latest) return; // a newer check is on its way
    if (!text.value.trim()) {
      // Nothing typed yet: say what to do, not what is wrong.
      report.textContent = quotes ? "Write the answer; cite each sentence's quote like [1]." : "";
      report.className = "check";
      submit.disabled = true;
      return;
    }
    if (result.problems.length) {
      report.textContent = "✗ " + result.problems.join("; ");
      report.className = "check bad";
    } else {
      report.textContent = `✓ cites ${result.citations.map((n) => `[${n}]`).join(", ")}: every sentence cites a quote`;
      report.className = "check good";
    }
    submit.disabled = result.problems.length > 0;
    document
      .querySelectorAll("#quotes li")
      .forEach((item, i) => item.classList.toggle("cited", result.citations.includes(i + 1)));
  }

  function scheduleCheck() {
    clearTimeout(pending);
    pending = setTimeout(check, 150);
  }

  function insert(n) {
    text.focus();
    const before = text.value.slice(0, text.selectionStart);
    const space = before && !/\s$/.test(before) ? " " : "";
    text.setRangeText(`${space}[${n}]`, text.selectionStart, text.selectionEnd, "end");
    saveDraft();
    scheduleCheck();
  }

  document.querySelectorAll("button.cite").forEach((button) => {
    button.addEventListener("mousedown", (event) => event.preventDefault()); // keep the caret in the editor
    button.addEventListener("click", () => insert(button.dataset.cite));
  });
  text.addEventListener("input", () => {
    saveDraft();
    scheduleCheck();
  });
  text.addEventListener("keydown", (event) => {
    if (event.altKey && /^[1-9]$/.test(event.key) && Number(event.key) <= quotes) {
      event.preventDefault();
      insert(event.key);
    } else if ((event.ctrlKey || event.metaKey) && event.key === "Enter" && !submit.disabled) {
      form.requestSubmit();
    }
  });
  restoreDraft();
  check();
})();
