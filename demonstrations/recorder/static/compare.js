// The comparison page: keys pick the verdict (1 A better, 2 B better, t tie, Shift+1/Shift+2 much
// better), j focuses the justification, Ctrl+Enter saves; a citation in an answer highlights its quote.
(() => {
  "use strict";
  const form = document.getElementById("compare-form");
  if (!form) return;

  function choose(value) {
    const input = document.getElementById(`choice-${value}`);
    if (!input) return;
    input.checked = true;
    input.focus();
  }

  document.addEventListener("keydown", (event) => {
    const target = event.target;
    if ((event.ctrlKey || event.metaKey) && event.key === "Enter") {
      event.preventDefault();
      form.requestSubmit();
      return;
    }
    if (target.matches && target.matches("textarea, select, input:not([type=radio])")) {
      if (event.key === "Escape") target.blur();
      return;
    }
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    const digit = { Digit1: "A", Digit2: "B", Numpad1: "A", Numpad2: "B" }[event.code];
    let value = null;
    if (digit) value = event.shiftKey ? `${digit}_much` : digit;
    else if (event.key === "t" || event.key === "T") value = "tie";
    else if (event.key === "j") {
      event.preventDefault();
      document.getElementById("justification").focus();
      return;
    }
    if (!value) return;
    event.preventDefault();
    choose(value);
  });

  function highlight(link, on) {
    const card = link.closest(".answer-card");
    (link.dataset.quotes || "").split(" ").forEach((n) => {
      const item = card && card.querySelector(`#${card.id}-quote-${n}`);
      if (item) item.classList.toggle("highlight", on);
    });
  }

  document.querySelectorAll("a.cite-link").forEach((link) => {
    link.addEventListener("mouseenter", () => highlight(link, true));
    link.addEventListener("mouseleave", () => highlight(link, false));
    link.addEventListener("focus", () => highlight(link, true));
    link.addEventListener("blur", () => highlight(link, false));
  });
})();
