/*
 * The admissions chat widget: a launcher button and a panel holding deep-chat, connected
 * to the Rasa server's REST channel.
 *
 * deep-chat draws the chat; this file translates between it and Rasa (a reply list of
 * {text, buttons} one way, {sender, message, metadata: {page_url}} the other), keeps the
 * conversation in the tab's sessionStorage so it survives reloads and navigation, and says
 * who to call when the assistant cannot be reached. The phone number comes from
 * widget-config.json, which the server builds from knowledge/contact.yml. What the visitor
 * types is shown as text, as the bot's replies are (never as markdown or HTML). When the
 * server says "too many messages" (429), a calm note asks the visitor to wait and their
 * message goes back into the box, to send again.
 *
 * Under each answer (each reply message carries its `answer_id`) a thumbs up and a thumbs
 * down rate it, once: the rating goes to the same webhook as {sender, feedback: {answer_id,
 * rating}}, the buttons stay pressed and disabled with a "Thanks" note, also after a reload.
 *
 * Embed: <div id="admissions-chat" data-server-url="https://assistant.example.edu"></div>
 *        <script src="https://chat.example.edu/widget/widget.js" defer></script>
 */
(() => {
  'use strict';

  const script = document.currentScript;
  const base = new URL('.', script.src);
  const STORAGE_KEY = 'admissions-chat';
  const EXPIRY_MS = 30 * 60 * 1000; // Rasa forgets a conversation after 30 idle minutes too
  const TIMEOUT_MS = 30 * 1000;
  const SLOW_DOWN = "You're sending messages very quickly, please wait a moment. Your message is back in the box to send again.";
  const FRESH_START = '/session_start'; // the payload of the "start a fresh conversation" button
  const GREET = '/greet';
  const THANKS = 'Thanks for your feedback';
  const RATING_FAILED = "Sorry, your rating wasn't sent. Please try again.";
  const RATINGS = {
    up: { label: 'This answer was helpful', rotate: '' },
    down: { label: 'This answer was not helpful', rotate: ' transform="rotate(180 12 12)"' },
  };
  // A thumb (Material Icons' thumb_up, Apache-2.0), drawn inline: no image file, no font.
  const THUMB = 'M1 21h4V9H1v12zm22-11c0-1.1-.9-2-2-2h-6.31l.95-4.57.03-.32c0-.41-.17-.79-.44-1.06L14.17 1 '
    + '7.59 7.59C7.22 7.95 7 8.45 7 9v10c0 1.1.9 2 2 2h9c.83 0 1.54-.5 1.84-1.22l3.02-7.05c.09-.23.14-.47.14-.73v-2z';

  let config = null; // {server_url, phone, privacy_url}
  // Shown above the chat: the assistant is no place for health or financial details.
  const NOTICE = "Please don't share sensitive information such as health or financial details.";
  let state = null; // {sender, messages, open, updated}
  let chat = null; // the <deep-chat> element
  let pending = null; // {title, payload} of the suggestion button just clicked
  let typing = false;
  const ui = {};

  const escapeHtml = (value) => String(value).replace(/[&<>"']/g, (c) => ({
    '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;',
  }[c]));

  /** An unguessable sender id: it is all that separates one visitor's conversation from another's. */
  function newSenderId() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    const b = crypto.getRandomValues(new Uint8Array(16)); // randomUUID needs https; this does not
    b[6] = (b[6] & 0x0f) | 0x40; b[8] = (b[8] & 0x3f) | 0x80;
    const h = Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
  }

  // sessionStorage, not localStorage: the conversation (with any contact details typed into
  // the inquiry form) ends with the tab, so the next person at a shared computer starts afresh.
  function loadState() {
    try {
      const saved = JSON.parse(sessionStorage.getItem(STORAGE_KEY) || 'null');
      if (saved && saved.sender && Date.now() - saved.updated < EXPIRY_MS) return saved;
    } catch (error) { /* unreadable: start a new conversation */ }
    return { sender: newSenderId(), messages: [], open: false, updated: Date.now() };
  }

  function saveState() {
    state.updated = Date.now();
    try { sessionStorage.setItem(STORAGE_KEY, JSON.stringify(state)); } catch (error) { /* storage full or off */ }
  }

  /** One deep-chat message per Rasa reply: the text escaped, buttons we build ourselves, and
   * under an answer's last message the thumbs that rate it (`rateable`). */
  function renderReply(reply, rateable) {
    let html = '';
    if (reply.text) html += `<div class="ac-text">${escapeHtml(reply.text)}</div>`;
    if (Array.isArray(reply.buttons) && reply.buttons.length) {
      html += '<div class="ac-buttons">' + reply.buttons.map((b) => (
        `<button type="button" class="ac-suggestion" data-payload="${escapeHtml(b.payload)}">${escapeHtml(b.title)}</button>`
      )).join('') + '</div>';
    }
    if (html && rateable) html += feedbackHtml(reply.answer_id, null);
    return html ? { role: 'ai', html } : null;
  }

  /** The thumbs of one answer: to press, or (`rated`: 'up' or 'down') pressed, disabled and thanked. */
  function feedbackHtml(answerId, rated) {
    const buttons = Object.entries(RATINGS).map(([rating, { label, rotate }]) => (
      `<button type="button" class="ac-rate" data-rating="${rating}" aria-label="${label}"`
      + ` aria-pressed="${rated === rating}"${rated ? ' disabled' : ''}>`
      + `<svg viewBox="0 0 24 24" aria-hidden="true" focusable="false"><path d="${THUMB}"${rotate}/></svg></button>`
    )).join('');
    const note = rated ? escapeHtml(THANKS) : '';
    return `<div class="ac-feedback" data-answer="${escapeHtml(String(answerId))}">${buttons}`
      + `<span class="ac-feedback-note" role="status">${note}</span></div>`;
  }

  /** Which messages of a reply get thumbs: the last one of each answer (Rasa splits a text at
   * blank lines into messages sharing one `answer_id`). */
  function rateable(replies, index) {
    const id = replies[index].answer_id;
    const next = replies[index + 1];
    return typeof id === 'number' && !(next && next.answer_id === id);
  }

  function unreachable() {
    const text = `Sorry, I can't reach the admissions assistant right now. Please call admissions at ${config.phone}.`;
    return { role: 'ai', html: `<div class="ac-text ac-unreachable" role="alert">${escapeHtml(text)}</div>` };
  }

  function slowDown() {
    return { role: 'ai', html: `<div class="ac-text ac-slow-down" role="status">${escapeHtml(SLOW_DOWN)}</div>` };
  }

  /** A visitor's message as deep-chat shows it: text, escaped like the bot's (deep-chat would render markdown). */
  function userBubble(text) {
    return `<div class="ac-user-text">${escapeHtml(text)}</div>`;
  }

  /** The visitor's bubble just added, shown as text: deep-chat renders it as markdown (links, images).
   * Replaced in place, before the browser paints it (deep-chat's updateMessage drops a last message). */
  function showAsText(text) {
    const bubbles = chat.shadowRoot ? chat.shadowRoot.querySelectorAll('.message-bubble.user-message') : [];
    const bubble = bubbles[bubbles.length - 1];
    if (bubble) bubble.innerHTML = userBubble(text);
  }

  function webhookUrl() {
    const server = (ui.host.dataset.serverUrl || config.server_url).replace(/\/+$/, '');
    return `${server}/webhooks/rest/webhook`;
  }

  /** Send one message to Rasa; the replies as deep-chat messages (the unreachable notice on
   * failure), or null when the server refused it as one too many (429): nothing was processed. */
  async function ask(message) {
    const rated = message !== GREET; // a greeting answers no question: nothing to rate
    try {
      const response = await fetch(webhookUrl(), {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ sender: state.sender, message, metadata: { page_url: window.location.href } }),
        signal: AbortSignal.timeout(TIMEOUT_MS),
      });
      if (response.status === 429) return null;
      if (!response.ok) return [unreachable()];
      const replies = await response.json();
      const list = Array.isArray(replies) ? replies.filter((reply) => reply && typeof reply === 'object') : [];
      return list.map((reply, index) => renderReply(reply, rated && rateable(list, index))).filter(Boolean);
    } catch (error) {
      return [unreachable()];
    }
  }

  /** Send the visitor's rating of an answer; whether the server has it (stored now or before). */
  async function sendRating(answerId, rating) {
    try {
      const response = await fetch(webhookUrl(), {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ sender: state.sender, feedback: { answer_id: answerId, rating } }),
        signal: AbortSignal.timeout(TIMEOUT_MS),
      });
      return response.ok || response.status === 409; // 409: this answer was rated already
    } catch (error) {
      return false;
    }
  }

  /** A thumb clicked (or pressed with Enter or Space): both are disabled at once, so an answer
   * is rated once; on failure they come back, to try again. The kept conversation shows the
   * rating after a reload too. */
  async function rate(button) {
    const group = button && button.closest('.ac-feedback');
    if (!group || button.disabled) return;
    const answerId = Number(group.dataset.answer);
    const { rating } = button.dataset;
    const thumbs = group.querySelectorAll('.ac-rate');
    const note = group.querySelector('.ac-feedback-note');
    thumbs.forEach((thumb) => { thumb.disabled = true; });
    button.setAttribute('aria-pressed', 'true');
    const stored = await sendRating(answerId, rating);
    if (!stored) {
      thumbs.forEach((thumb) => { thumb.disabled = false; });
      button.setAttribute('aria-pressed', 'false');
      note.textContent = RATING_FAILED;
      button.focus();
      return;
    }
    note.textContent = THANKS;
    const before = feedbackHtml(answerId, null);
    const kept = state.messages.find((m) => m.html && m.html.includes(before));
    if (kept) kept.html = kept.html.replace(before, feedbackHtml(answerId, rating));
    saveState();
    chat.focusInput(); // the disabled thumb can hold the focus no longer
  }

  /** deep-chat's typing bubble, shown while Rasa thinks (toggle() adds or removes it). */
  function setTyping(on) {
    if (on === typing) return;
    typing = on;
    chat.displayLoadingBubble.toggle();
  }

  // deep-chat calls this for every message the visitor sends (typed or a suggestion button).
  async function handler(body, signals) {
    const text = (body && body.messages && body.messages[0] && body.messages[0].text) || '';
    const clicked = pending && pending.title === text ? pending : null;
    const message = clicked ? clicked.payload : text;
    pending = null;
    setTyping(true);
    let replies = await ask(message);
    // A fresh session answers nothing by itself: greet the visitor in it.
    if (message === FRESH_START && replies && !replies.length) replies = await ask(GREET);
    setTyping(false);
    if (replies === null) {
      await signals.onResponse([slowDown()]);
      restoreInput(text, clicked);
      return;
    }
    await signals.onResponse(replies);
  }

  /** Put a refused message back into the box (a clicked button keeps sending its payload). */
  function restoreInput(text, clicked) {
    const box = chat.shadowRoot && chat.shadowRoot.querySelector('#text-input');
    if (!box) return;
    pending = clicked;
    box.textContent = text;
    box.classList.remove('text-input-placeholder');
    box.dispatchEvent(new Event('input', { bubbles: true }));
    chat.focusInput();
  }

  async function greet() {
    setTyping(true);
    const replies = await ask(GREET);
    setTyping(false);
    (replies || [slowDown()]).forEach((reply) => chat.addMessage(reply));
  }

  const CHAT_STYLE = `
    .ac-text { white-space: pre-line; }
    .ac-buttons { display: flex; flex-wrap: wrap; gap: 6px; margin-top: 8px; }
    .ac-suggestion { font: inherit; font-size: 0.9em; color: #0b3d6e; background: #fff;
      border: 1px solid #0b3d6e; border-radius: 16px; padding: 5px 12px; cursor: pointer; }
    .ac-suggestion:hover { background: #e8f0f8; }
    .ac-feedback { display: flex; align-items: center; gap: 6px; margin-top: 6px; }
    .ac-rate { display: inline-flex; align-items: center; font: inherit; color: #3d4a57; background: transparent;
      border: 1px solid #6b7785; border-radius: 12px; padding: 3px 8px; cursor: pointer; }
    .ac-rate svg { width: 14px; height: 14px; fill: currentColor; }
    .ac-rate:hover:not(:disabled) { background: #dde5ee; }
    .ac-rate[aria-pressed="true"] { color: #fff; background: #0b3d6e; border-color: #0b3d6e; }
    .ac-rate:disabled { cursor: default; }
    .ac-feedback-note { font-size: 0.85em; color: #3d4a57; }
    .ac-suggestion:focus-visible, .ac-rate:focus-visible, #text-input:focus-visible, .input-button:focus-visible {
      outline: 3px solid #f2a900; outline-offset: 2px; }
    .ac-unreachable { color: #8a1c1c; font-weight: 600; }
    .ac-slow-down { color: #5a4300; }
    .ac-user-text { white-space: pre-wrap; }
  `;

  async function createChat() {
    await import(new URL('deep-chat.js', base).href);
    chat = document.createElement('deep-chat');
    chat.className = 'ac-deep-chat';
    // Any font but deep-chat's default stops it from adding a web-font link to a CDN.
    chat.style.fontFamily = 'system-ui, -apple-system, "Segoe UI", Roboto, sans-serif';
    chat.connect = { handler };
    chat.history = state.messages.slice();
    chat.displayLoadingBubble = { toggle: () => {} }; // we show the typing bubble ourselves
    chat.htmlClassUtilities = {
      'ac-rate': { events: { click: (event) => rate(event.target.closest('.ac-rate')) } },
      'ac-suggestion': {
        events: {
          click: (event) => {
            const button = event.target.closest('.ac-suggestion');
            pending = { title: button.textContent, payload: button.dataset.payload };
            chat.submitUserMessage({ text: button.textContent });
          },
        },
      },
    };
    chat.auxiliaryStyle = CHAT_STYLE;
    chat.chatStyle = { width: '100%', height: '100%', border: 'none', fontSize: '15px' };
    chat.textInput = { placeholder: { text: 'Type your question…' }, characterLimit: 5000 };
    chat.messageStyles = {
      default: {
        user: { bubble: { backgroundColor: '#0b3d6e', color: '#fff' } },
        ai: { bubble: { backgroundColor: '#eef1f5', color: '#1a1a1a' } },
      },
    };
    chat.onMessage = ({ message, isHistory }) => {
      if (isHistory || !(message.text || message.html)) return;
      if (message.role === 'user' && message.text) {
        showAsText(message.text);
        state.messages.push({ role: 'user', html: userBubble(message.text) }); // shown so after a reload too
      } else {
        state.messages.push({ role: message.role, ...(message.html ? { html: message.html } : { text: message.text }) });
      }
      saveState();
    };
    ui.body.appendChild(chat);
    await new Promise((resolve) => {
      chat.onComponentRender = () => resolve();
      setTimeout(resolve, 3000);
    });
    const send = chat.shadowRoot && chat.shadowRoot.querySelector('#input .input-button');
    if (send) send.setAttribute('aria-label', 'Send message'); // deep-chat leaves its icon button unnamed
    if (!state.messages.length) greet();
  }

  async function openPanel(moveFocus = true) {
    ui.panel.hidden = false;
    ui.launcher.setAttribute('aria-expanded', 'true');
    ui.host.classList.add('ac-open');
    state.open = true;
    saveState();
    if (!chat) await createChat();
    if (moveFocus) chat.focusInput();
  }

  function closePanel() {
    ui.panel.hidden = true;
    ui.launcher.setAttribute('aria-expanded', 'false');
    ui.host.classList.remove('ac-open');
    state.open = false;
    saveState();
    ui.launcher.focus();
  }

  async function startOver() {
    const old = state.sender;
    fetch(webhookUrl(), { // clear the old conversation's slots on the server too
      method: 'POST', headers: { 'Content-Type': 'application/json' }, keepalive: true,
      body: JSON.stringify({ sender: old, message: '/restart' }),
    }).catch(() => {});
    state = { sender: newSenderId(), messages: [], open: true, updated: Date.now() };
    saveState();
    // A fresh deep-chat rather than clearMessages(), which keeps a message it deems active.
    chat.remove();
    chat = null;
    typing = false;
    pending = null;
    await createChat();
    chat.focusInput();
  }

  function build() {
    ui.host = document.getElementById('admissions-chat') || document.body.appendChild(document.createElement('div'));
    ui.host.id = 'admissions-chat';
    ui.host.classList.add('ac-host');
    ui.host.innerHTML = `
      <button type="button" class="ac-launcher" aria-expanded="false" aria-controls="ac-panel">
        <span aria-hidden="true" class="ac-launcher-icon">💬</span> Chat with admissions
      </button>
      <section id="ac-panel" class="ac-panel" role="dialog" aria-labelledby="ac-title" hidden>
        <header class="ac-header">
          <h2 id="ac-title" class="ac-title">Admissions assistant</h2>
          <button type="button" class="ac-restart">Start over</button>
          <button type="button" class="ac-close" aria-label="Close chat">✕</button>
        </header>
        <p class="ac-notice"></p>
        <div class="ac-body"></div>
      </section>`;
    buildNotice(ui.host.querySelector('.ac-notice'));
    ui.launcher = ui.host.querySelector('.ac-launcher');
    ui.panel = ui.host.querySelector('.ac-panel');
    ui.body = ui.host.querySelector('.ac-body');
    ui.launcher.addEventListener('click', () => (ui.panel.hidden ? openPanel() : closePanel()));
    ui.host.querySelector('.ac-close').addEventListener('click', closePanel);
    ui.host.querySelector('.ac-restart').addEventListener('click', startOver);
    ui.panel.addEventListener('keydown', (event) => {
      if (event.key === 'Escape') { event.preventDefault(); closePanel(); }
    });
  }

  /** The notice, with a link to the college's privacy page when one is configured (PRIVACY_URL). */
  function buildNotice(notice) {
    notice.textContent = NOTICE;
    const url = config.privacy_url;
    if (!url || !/^https?:\/\//i.test(url)) return;
    const link = document.createElement('a');
    link.href = url;
    link.target = '_blank';
    link.rel = 'noopener noreferrer';
    link.textContent = 'Privacy policy';
    notice.append(' ', link);
  }

  async function init() {
    const style = document.createElement('link');
    style.rel = 'stylesheet';
    style.href = new URL('widget.css', base).href;
    document.head.appendChild(style);
    config = await (await fetch(new URL('widget-config.json', base))).json();
    state = loadState();
    build();
    if (state.open) openPanel(false); // navigation within the site keeps the chat open
  }

  init();
})();
