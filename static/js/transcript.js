// Transcript workspace: player ↔ segment sync, keyboard shortcuts, inline
// edit helpers (the edits themselves are htmx), speaker relabels, revision
// dialog and in-transcript search. No build step, no dependencies beyond htmx.
(function () {
  "use strict";

  const ws = document.getElementById("workspace");
  if (!ws) return;
  const player = document.getElementById("player");
  const list = document.getElementById("segments");
  const follow = document.getElementById("follow");
  const speed = document.getElementById("speed");
  const dialog = document.getElementById("revisions-dialog");
  const search = document.getElementById("ts-search");
  const searchCount = document.getElementById("ts-search-count");
  const playerCard = document.querySelector(".player-card");

  // --- segments and timing ------------------------------------------------------
  let timings = null; // [{start, li}] sorted by start
  function segments() {
    return list ? Array.from(list.querySelectorAll(":scope > li.seg")) : [];
  }
  function index() {
    if (!timings) {
      timings = segments().map((li) => ({ start: parseFloat(li.dataset.start) || 0, li }));
    }
    return timings;
  }
  function segmentAt(t) {
    const items = index();
    let lo = 0, hi = items.length - 1, found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (items[mid].start <= t + 0.05) { found = mid; lo = mid + 1; } else { hi = mid - 1; }
    }
    return found >= 0 ? items[found].li : null;
  }
  function byIndex(n) {
    return document.getElementById("seg-" + n);
  }

  let current = null;
  let currentIndex = null;
  let lastManualScroll = 0;
  ["wheel", "touchmove"].forEach((type) =>
    window.addEventListener(type, () => { lastManualScroll = Date.now(); }, { passive: true }));

  function editing() {
    return list ? list.querySelector("li.seg.editing") : null;
  }
  function topOffset() {
    const pinned = window.getComputedStyle(playerCard || document.body).position === "sticky" &&
      window.matchMedia("(max-width: 991px)").matches;
    const searchBar = search ? search.parentElement.getBoundingClientRect().height : 0;
    return (pinned && playerCard ? playerCard.getBoundingClientRect().height : 0) + searchBar;
  }
  function ensureVisible(li, force) {
    if (!li) return;
    if (!force && (!follow || !follow.checked || editing() || Date.now() - lastManualScroll < 4000)) return;
    const rect = li.getBoundingClientRect();
    if (rect.top < topOffset() || rect.bottom > window.innerHeight - 8) {
      li.scrollIntoView({ block: "center", behavior: force ? "auto" : "smooth" });
    }
  }
  function setCurrent(li, scroll) {
    if (li === current) return;
    if (current) current.classList.remove("current");
    current = li;
    currentIndex = li ? li.dataset.index : null;
    if (li) {
      li.classList.add("current");
      if (scroll) ensureVisible(li, false);
    }
  }
  // The word being spoken, where the model gave word times.
  let currentWord = null;
  function syncWord(t) {
    let word = null;
    if (current) {
      for (const w of current.querySelectorAll(".w")) {
        if (parseFloat(w.dataset.start) <= t && t < parseFloat(w.dataset.end)) { word = w; break; }
      }
    }
    if (word === currentWord) return;
    if (currentWord) currentWord.classList.remove("current-word");
    currentWord = word;
    if (word) word.classList.add("current-word");
  }
  function sync() {
    if (!player) return;
    setCurrent(segmentAt(player.currentTime), !player.paused);
    syncWord(player.currentTime);
  }

  function seek(li, play) {
    if (!player || !li) return;
    player.currentTime = parseFloat(li.dataset.start) || 0;
    setCurrent(li, false);
    if (play) {
      const started = player.play();
      if (started && started.catch) started.catch(() => {});
    }
  }
  function step(delta) {
    const items = segments();
    if (!items.length) return;
    let i = current ? items.indexOf(current) : -1;
    i = Math.min(items.length - 1, Math.max(0, i + delta));
    seek(items[i], false);
    ensureVisible(items[i], true);
  }
  function togglePlay() {
    if (!player) return;
    if (player.paused) {
      const started = player.play();
      if (started && started.catch) started.catch(() => {});
    } else {
      player.pause();
    }
  }

  if (player) {
    player.addEventListener("timeupdate", sync);
    player.addEventListener("seeked", sync);
    player.addEventListener("play", sync);
  }

  // Playback speed, remembered between visits.
  if (speed && player) {
    const saved = window.localStorage && localStorage.getItem("transcript.speed");
    if (saved && speed.querySelector('option[value="' + saved + '"]')) speed.value = saved;
    player.playbackRate = parseFloat(speed.value) || 1;
    player.addEventListener("loadedmetadata", () => { player.playbackRate = parseFloat(speed.value) || 1; });
    speed.addEventListener("change", () => {
      player.playbackRate = parseFloat(speed.value) || 1;
      try { localStorage.setItem("transcript.speed", speed.value); } catch (e) { /* private mode */ }
    });
  }

  // Phones: the pinned player's height offsets the sticky search bar.
  if (playerCard && window.ResizeObserver) {
    new ResizeObserver(() => {
      ws.style.setProperty("--player-height", playerCard.getBoundingClientRect().height + "px");
    }).observe(playerCard);
  }

  // --- clicks on segments -----------------------------------------------------------
  if (list) {
    list.addEventListener("click", (event) => {
      const li = event.target.closest("li.seg");
      if (!li || li.classList.contains("editing")) return;
      const seekLink = event.target.closest("[data-seek]");
      if (seekLink) {
        event.preventDefault();
        seek(li, true);
        return;
      }
      if (event.target.closest("a, button, form, input, textarea, select")) return;
      // Selecting text to copy it is not a click to seek.
      const selection = window.getSelection();
      if (selection && !selection.isCollapsed && li.contains(selection.anchorNode)) return;
      const word = event.target.closest(".w");
      if (word && player) {
        player.currentTime = parseFloat(word.dataset.start) || 0;
        setCurrent(li, false);
        syncWord(player.currentTime);
        return;
      }
      seek(li, false);
    });
  }

  // --- keyboard --------------------------------------------------------------------------
  function typing(target) {
    return target && (target.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName));
  }
  document.addEventListener("keydown", (event) => {
    const target = event.target;
    if (target && target.tagName === "TEXTAREA" && target.closest(".seg-form")) {
      if (event.key === "Escape") {
        event.preventDefault();
        const cancel = target.closest("li.seg").querySelector("[data-cancel]");
        if (cancel) cancel.click();
      } else if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
        event.preventDefault();
        target.form.requestSubmit();
      }
      return;
    }
    if (target === search) {
      if (event.key === "Enter") { event.preventDefault(); gotoMatch(event.shiftKey ? -1 : 1); }
      if (event.key === "Escape") { search.value = ""; runSearch(); search.blur(); }
      return;
    }
    if (typing(target) || (dialog && dialog.open) || event.ctrlKey || event.metaKey) return;
    if (event.altKey) {
      if (event.key === "ArrowUp") { event.preventDefault(); step(-1); }
      if (event.key === "ArrowDown") { event.preventDefault(); step(1); }
      return;
    }
    switch (event.key) {
      case " ":
      case "k":
      case "K":
        // Space on a focused button presses it; on anything else it plays.
        if (event.key === " " && target && target.closest && target.closest("button, summary, [role=button]")) return;
        event.preventDefault();
        togglePlay();
        break;
      case "j":
      case "J":
        event.preventDefault(); step(-1); break;
      case "l":
      case "L":
        event.preventDefault(); step(1); break;
      case "ArrowLeft":
        if (player) { event.preventDefault(); player.currentTime = Math.max(0, player.currentTime - 5); }
        break;
      case "ArrowRight":
        if (player) { event.preventDefault(); player.currentTime = player.currentTime + 5; }
        break;
      case "e":
      case "E":
      case "Enter": {
        if (event.key === "Enter" && target && target !== document.body) return;
        const edit = current && current.querySelector("[data-edit]");
        if (edit) { event.preventDefault(); edit.click(); }
        break;
      }
      case "/":
        if (search) { event.preventDefault(); search.focus(); search.select(); }
        break;
      default:
    }
  });

  // --- htmx: edits, errors, swapped segments -------------------------------------------
  document.body.addEventListener("htmx:beforeSwap", (event) => {
    const status = event.detail.xhr.status;
    // Locked (409) and invalid (422) answers carry a message to show in place.
    if (status === 409 || status === 422) {
      event.detail.shouldSwap = true;
      event.detail.isError = false;
    }
  });
  document.body.addEventListener("htmx:afterSettle", (event) => {
    const el = event.detail.elt;
    timings = null;
    if (currentIndex !== null) {
      const li = byIndex(currentIndex);
      if (li && li !== current) { current = null; setCurrent(li, false); }
    }
    if (el && el.id === "revisions-body" && dialog && !dialog.open) dialog.showModal();
    if (search && search.value) runSearch(true);
  });
  // A segment that just turned into an edit form gets the caret at the end.
  // Done in afterSwap, the same task as the swap, so typing can never land
  // before the caret moves. (Until htmx settles, the new <li> still wears the
  // old one's classes, so look for the form, not for li.editing.)
  document.body.addEventListener("htmx:afterSwap", () => {
    const textarea = list && list.querySelector(".seg-form textarea:not([data-ready])");
    if (!textarea) return;
    textarea.dataset.ready = "1";
    textarea.focus();
    textarea.setSelectionRange(textarea.value.length, textarea.value.length);
    autosize(textarea);
  });
  function autosize(textarea) {
    textarea.style.height = "auto";
    textarea.style.height = Math.min(textarea.scrollHeight + 4, window.innerHeight * 0.5) + "px";
  }
  document.addEventListener("input", (event) => {
    if (event.target.matches && event.target.matches(".seg-form textarea")) autosize(event.target);
  });

  // Warn before leaving with an unsaved edit.
  window.addEventListener("beforeunload", (event) => {
    const forms = list ? list.querySelectorAll(".seg-form") : [];
    for (const form of forms) {
      if (form.elements.text.value !== form.elements.base.value) {
        event.preventDefault();
        event.returnValue = ws.dataset.i18nUnsaved || "";
        return;
      }
    }
  });

  // A renamed speaker is relabelled on every segment without a reload.
  document.body.addEventListener("speaker-renamed", (event) => {
    const detail = event.detail || {};
    if (!detail.speaker) return;
    const selector = '.seg-speaker[data-speaker="' + CSS.escape(detail.speaker) + '"]';
    document.querySelectorAll(selector).forEach((el) => { el.textContent = detail.name; });
  });

  // --- revision dialog -----------------------------------------------------------------------
  if (dialog) {
    dialog.addEventListener("click", (event) => {
      if (event.target === dialog || event.target.closest("[data-close-dialog]")) dialog.close();
    });
  }

  // --- search within the transcript ----------------------------------------------------------
  let matches = [];
  let matchAt = -1;
  function clearMarks() {
    if (!list) return;
    list.querySelectorAll("mark[data-search]").forEach((mark) => {
      const parent = mark.parentNode;
      parent.replaceChild(document.createTextNode(mark.textContent), mark);
      parent.normalize();
    });
    list.querySelectorAll("li.search-miss").forEach((li) => li.classList.remove("search-miss"));
  }
  function markText(node, needle) {
    const walker = document.createTreeWalker(node, NodeFilter.SHOW_TEXT);
    const texts = [];
    while (walker.nextNode()) texts.push(walker.currentNode);
    let found = 0;
    for (const text of texts) {
      const haystack = text.nodeValue.toLocaleLowerCase();
      let from = 0, at;
      const pieces = [];
      while ((at = haystack.indexOf(needle, from)) !== -1) {
        pieces.push([at, at + needle.length]);
        from = at + needle.length;
      }
      if (!pieces.length) continue;
      const fragment = document.createDocumentFragment();
      let last = 0;
      for (const [start, end] of pieces) {
        fragment.appendChild(document.createTextNode(text.nodeValue.slice(last, start)));
        const mark = document.createElement("mark");
        mark.dataset.search = "1";
        mark.textContent = text.nodeValue.slice(start, end);
        fragment.appendChild(mark);
        last = end;
      }
      fragment.appendChild(document.createTextNode(text.nodeValue.slice(last)));
      text.parentNode.replaceChild(fragment, text);
      found += pieces.length;
    }
    return found;
  }
  function label(n) {
    const forms = (ws.dataset.i18nMatches || "match|matches").split("|");
    return n === 0 ? (ws.dataset.i18nNoMatches || "0") : n + " " + (n === 1 ? forms[0] : forms[1] || forms[0]);
  }
  function runSearch(keepPosition) {
    if (!list || !search) return;
    clearMarks();
    matches = [];
    const needle = search.value.trim().toLocaleLowerCase();
    if (!needle) {
      matchAt = -1;
      searchCount.textContent = "";
      return;
    }
    for (const li of segments()) {
      const text = li.querySelector(".seg-text");
      if (!text || !markText(text, needle)) li.classList.add("search-miss");
    }
    matches = Array.from(list.querySelectorAll("mark[data-search]"));
    if (!keepPosition) matchAt = -1;
    searchCount.textContent = label(matches.length);
    if (matchAt >= 0 && matches[matchAt]) matches[matchAt].classList.add("current-match");
  }
  function gotoMatch(delta) {
    if (!matches.length) return;
    if (matches[matchAt]) matches[matchAt].classList.remove("current-match");
    matchAt = (matchAt + delta + matches.length) % matches.length;
    const mark = matches[matchAt];
    mark.classList.add("current-match");
    searchCount.textContent = (matchAt + 1) + " / " + matches.length;
    const li = mark.closest("li.seg");
    seek(li, false);
    ensureVisible(li, true);
  }
  if (search) {
    let timer = null;
    search.addEventListener("input", () => {
      clearTimeout(timer);
      timer = setTimeout(() => runSearch(false), 150);
    });
    document.getElementById("ts-search-next").addEventListener("click", () => gotoMatch(1));
    document.getElementById("ts-search-prev").addEventListener("click", () => gotoMatch(-1));
  }

  // --- arriving at a segment (search results link to #seg-N) -----------------------------------
  function arrive() {
    const match = /^#seg-(\d+)$/.exec(window.location.hash);
    const li = match ? byIndex(match[1]) : null;
    if (!li) return;
    list.querySelectorAll("li.targeted").forEach((el) => el.classList.remove("targeted"));
    li.classList.add("targeted");
    seek(li, false);
    ensureVisible(li, true);
  }
  if (search && search.value) runSearch(false);
  arrive();
  window.addEventListener("hashchange", arrive);
})();
