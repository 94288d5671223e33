// The browsing page: every button, link and shortcut sends one command to the recorder, which steps the
// environment, stores the step and answers with the new observation.
(() => {
  "use strict";
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  const root = document.querySelector(".browse");
  const episode = root.dataset.episode;
  const browser = document.getElementById("browser");
  const flash = document.getElementById("flash");
  let busy = false;
  let count = "";
  let steps = 0;
  let at = Number(root.dataset.at); // the step count the shown state is at; the server refuses others

  function say(message, kind) {
    flash.textContent = message;
    flash.className = "flash " + (kind || "");
  }

  async function send(command) {
    if (busy) return;
    busy = true;
    root.classList.add("busy");
    try {
      const response = await fetch(`/episodes/${episode}/step`, {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRF-Token": csrf },
        body: JSON.stringify({ command, at }),
      });
      const data = await response.json().catch(() => ({ detail: response.statusText }));
      if (!response.ok) {
        if (data.stale) {
          browser.innerHTML = data.html;
          at = data.at;
        }
        say(data.detail || "the recorder refused the command", "error");
        return;
      }
      steps += 1;
      root.dataset.steps = String(steps);
      at = data.at;
      if (data.redirect) {
        window.location.assign(data.redirect);
        return;
      }
      browser.innerHTML = data.html;
      window.getSelection().removeAllRanges();
      say(data.error ? `✗ ${data.command}` : `✓ ${data.command}`, data.error ? "error" : "ok");
    } catch (error) {
      say(`could not reach the recorder: ${error}`, "error");
    } finally {
      busy = false;
      root.classList.remove("busy");
    }
  }

  // The selected text, clipped to the page window (the part of the observation that is the page).
  function selectedText() {
    const selection = window.getSelection();
    if (!selection || selection.isCollapsed || selection.rangeCount === 0) return "";
    const area = document.getElementById("window-text") || document.getElementById("observation");
    const whole = document.createRange();
    whole.selectNodeContents(area);
    const range = selection.getRangeAt(0).cloneRange();
    if (range.compareBoundaryPoints(Range.END_TO_START, whole) > 0) return "";
    if (range.compareBoundaryPoints(Range.START_TO_END, whole) < 0) return "";
    if (range.compareBoundaryPoints(Range.START_TO_START, whole) < 0) range.setStart(whole.startContainer, whole.startOffset);
    if (range.compareBoundaryPoints(Range.END_TO_END, whole) > 0) range.setEnd(whole.endContainer, whole.endOffset);
    return range.toString().replace(/\s+/g, " ").trim();
  }

  function quoteSelection() {
    const text = selectedText();
    if (!text) {
      say("select some text in the page window first", "error");
      return;
    }
    send(`Quote: ${text}`);
  }

  function sendButton(button) {
    if (button.dataset.confirm && !window.confirm(button.dataset.confirm)) return;
    send(button.dataset.send);
  }

  document.querySelectorAll("form.command-form").forEach((form) => {
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      const input = form.querySelector("input");
      const value = input.value.replace(/\s+/g, " ").trim();
      if (!value) {
        say(`${form.dataset.command}: type something first`, "error");
        input.focus();
        return;
      }
      input.value = "";
      input.blur();
      send(`${form.dataset.command} ${value}`);
    });
  });

  document.querySelectorAll("[data-send]").forEach((button) => {
    button.addEventListener("click", () => sendButton(button));
  });

  const quoteButton = document.getElementById("quote-button");
  quoteButton.addEventListener("mousedown", (event) => event.preventDefault()); // keep the selection
  quoteButton.addEventListener("click", quoteSelection);

  browser.addEventListener("click", (event) => {
    const link = event.target.closest("a.link");
    if (!link) return;
    event.preventDefault();
    send(`Clicked on link ${link.dataset.link}`);
  });

  function focus(id) {
    const input = document.getElementById(id);
    input.focus();
    input.select();
  }

  const keys = {
    "/": () => focus("search-input"),
    s: () => focus("search-input"),
    f: () => focus("find-input"),
    g: () => focus("link-input"),
    j: (n) => send(`Scrolled down ${n || 1}`),
    J: () => send("Scrolled down 3"),
    k: (n) => send(`Scrolled up ${n || 1}`),
    K: () => send("Scrolled up 3"),
    t: () => send("Top"),
    b: () => send("Back"),
    q: quoteSelection,
    e: () => sendButton(document.getElementById("end-answer")), // asks first, like the button
    N: () => sendButton(document.getElementById("end-nonsense")),
    C: () => sendButton(document.getElementById("end-controversial")),
    "?": () => {
      const help = document.getElementById("help");
      help.open = !help.open;
    },
  };

  document.addEventListener("keydown", (event) => {
    const target = event.target;
    if (target.matches && target.matches("input, textarea, select")) {
      if (event.key === "Escape") target.blur();
      return;
    }
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    if (["1", "2", "3"].includes(event.key)) {
      count = event.key;
      return;
    }
    const action = keys[event.key];
    const n = count;
    count = "";
    if (!action) return;
    event.preventDefault();
    action(n);
  });
})();
