/**
 * `GET /_sink`: the sink's messages shown the way a Discord channel would show them (a Slack
 * channel's the way Slack would). Static HTML that polls `/_sink/messages`; message text is
 * rendered from escaped text only (no innerHTML of user text), with Discord's markdown basics,
 * mentions and timestamps, and Slack's mrkdwn basics and date tokens.
 */
// Escapes first; emphasis spans skip escaped characters (`**a \\*b**` is bold "a *b").
const MARKDOWN_PATTERN = String.raw`\\([^A-Za-z0-9\s])|\*\*((?:\\.|[^\\*])+?)\*\*|__((?:\\.|[^\\_])+?)__|\*((?:\\.|[^\\*])+?)\*|~~((?:\\.|[^\\~])+?)~~|` + '`([^`]+)`' + String.raw`|<@!?(\d+)>|<#(\d+)>|<t:(-?\d+)(?::([tTdDfFR]))?>|<@&(\d+)>`;

// Slack mrkdwn, minimal: the relay's date token, *bold*, _italic_, ~strike~, `code`, and the three entities.
const SLACK_PATTERN = String.raw`<!date\^(-?\d+)\^[^|>]*\|([^>]*)>|\*([^*\n]+)\*|_([^_\n]+)_|~([^~\n]+)~|` + '`([^`]+)`' + String.raw`|&(amp|lt|gt);`;

export function renderSinkPage(title: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${title.replace(/[<>&"]/g, '')}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
  body { margin: 0; font: 15px/1.4 "gg sans", "Noto Sans", Helvetica, Arial, sans-serif, "Apple Color Emoji", "Segoe UI Emoji", "Noto Color Emoji", "Twemoji Mozilla", emoji; background: #313338; color: #dbdee1; }
  header { padding: 12px 16px; border-bottom: 1px solid #1f2023; font-weight: 600; color: #f2f3f5; }
  header small { color: #949ba4; font-weight: 400; margin-left: 8px; }
  #empty { padding: 24px 16px; color: #949ba4; }
  .msg { display: flex; gap: 16px; padding: 8px 16px; }
  .msg:hover { background: #2e3035; }
  .avatar { width: 40px; height: 40px; border-radius: 50%; background: #5865f2; flex: none; display: grid; place-items: center; color: white; font-weight: 700; }
  .author { color: #f2f3f5; font-weight: 500; } .bot { background: #5865f2; color: white; font-size: 10px; border-radius: 3px; padding: 1px 4px; margin-left: 4px; vertical-align: 1px; }
  .time { color: #949ba4; font-size: 12px; margin-left: 6px; } .channel { color: #949ba4; font-size: 12px; margin-left: 6px; }
  .mention { background: rgba(88,101,242,.3); color: #c9cdfb; border-radius: 3px; padding: 0 2px; }
  .ts { background: #3f4147; border-radius: 3px; padding: 0 2px; }
  .edited { color: #949ba4; font-size: 10px; }
  .embed { border-left: 4px solid #1e1f22; background: #2b2d31; border-radius: 4px; padding: 8px 12px; margin-top: 4px; max-width: 520px; }
  .embed .title { font-weight: 600; color: #f2f3f5; } .embed .field-name { font-weight: 600; margin-top: 6px; }
  code { background: #2b2d31; padding: 0 3px; border-radius: 3px; }
  /* A coalesced message carries one event per line, and Discord shows each on its own line. */
  .content { white-space: pre-wrap; overflow-wrap: anywhere; }
  /* A Slack channel's messages, drawn as Slack draws them: a light pane, square avatars. */
  .slack { background: #ffffff; color: #1d1c1d; font-family: Lato, "Slack-Lato", "Helvetica Neue", Helvetica, Arial, sans-serif, "Apple Color Emoji", "Noto Color Emoji", emoji; margin: 6px 16px; border-radius: 8px; border: 1px solid #dddddd; }
  .slack:hover { background: #f8f8f8; }
  .slack .avatar { border-radius: 6px; background: #4a154b; }
  .slack .author { color: #1d1c1d; font-weight: 900; } .slack .bot { background: #dddddd; color: #616061; font-weight: 700; }
  .slack .time, .slack .channel { color: #616061; } .slack code { background: #f8f8f8; border: 1px solid #dddddd; color: #e01e5a; }
  .slack .date { color: #1264a3; } .kind { color: #616061; font-size: 11px; margin-left: 6px; text-transform: uppercase; }
</style></head>
<body>
<header>${title.replace(/[<>&"]/g, '')}<small id="count"></small></header>
<div id="empty">No messages yet. Send one: <code>npx relay send voice-join --user 444444444444444444 --channel 222222222222222222 --sync</code></div>
<main id="messages"></main>
<script>
const el = (tag, cls, text) => { const e = document.createElement(tag); if (cls) e.className = cls; if (text !== undefined) e.textContent = text; return e; };
// Discord markdown, minimal: escapes, **bold**, *italic*, __underline__, ~~strike~~, \`code\`, <@id>, <#id>, <t:unix:style>.
function renderText(parent, text) {
  const re = new RegExp(${JSON.stringify(MARKDOWN_PATTERN)}, 'g');
  let last = 0, m;
  while ((m = re.exec(text))) {
    parent.append(text.slice(last, m.index));
    if (m[1] !== undefined) parent.append(m[1]);
    else if (m[2] !== undefined) { const b = el('strong'); renderText(b, m[2]); parent.append(b); }
    else if (m[3] !== undefined) { const u = el('u'); renderText(u, m[3]); parent.append(u); }
    else if (m[4] !== undefined) { const i = el('em'); renderText(i, m[4]); parent.append(i); }
    else if (m[5] !== undefined) { const s = el('s'); renderText(s, m[5]); parent.append(s); }
    else if (m[6] !== undefined) parent.append(el('code', '', m[6]));
    else if (m[7] !== undefined) parent.append(el('span', 'mention', '@' + m[7]));
    else if (m[8] !== undefined) parent.append(el('span', 'mention', '#' + m[8]));
    else if (m[9] !== undefined) parent.append(el('span', 'ts', new Date(Number(m[9]) * 1000).toLocaleTimeString()));
    else if (m[11] !== undefined) parent.append(el('span', 'mention', '@role ' + m[11]));
    last = re.lastIndex;
  }
  parent.append(text.slice(last));
}
function renderSlackText(parent, text) {
  const re = new RegExp(${JSON.stringify(SLACK_PATTERN)}, 'g');
  const entity = { amp: '&', lt: '<', gt: '>' };
  let last = 0, m;
  while ((m = re.exec(text))) {
    parent.append(text.slice(last, m.index));
    if (m[1] !== undefined) parent.append(el('span', 'date', new Date(Number(m[1]) * 1000).toLocaleTimeString()));
    else if (m[3] !== undefined) { const b = el('strong'); renderSlackText(b, m[3]); parent.append(b); }
    else if (m[4] !== undefined) { const i = el('em'); renderSlackText(i, m[4]); parent.append(i); }
    else if (m[5] !== undefined) { const s = el('s'); renderSlackText(s, m[5]); parent.append(s); }
    else if (m[6] !== undefined) parent.append(el('code', '', m[6]));
    else if (m[7] !== undefined) parent.append(entity[m[7]]);
    last = re.lastIndex;
  }
  parent.append(text.slice(last));
}
function renderSlackMessage(m) {
  const body = m.body || {};
  const row = el('div', 'msg slack');
  const name = 'Discord Event Relay';
  row.append(el('div', 'avatar', 'R'));
  const col = el('div');
  const head = el('div');
  head.append(el('span', 'author', name), el('span', 'bot', 'APP'), el('span', 'time', new Date(m.receivedAt).toLocaleString()), el('span', 'channel', '#' + m.channel), el('span', 'kind', 'Slack'));
  col.append(head);
  const t = el('div', 'content'); renderSlackText(t, typeof body.text === 'string' ? body.text : ''); col.append(t);
  row.append(col);
  return row;
}
function renderMessage(m) {
  if (m.kind === 'slack') return renderSlackMessage(m);
  const body = m.body || {};
  const row = el('div', 'msg');
  const name = body.username || m.channel + ' webhook';
  row.append(el('div', 'avatar', name.slice(0, 1).toUpperCase()));
  const col = el('div');
  const head = el('div');
  head.append(el('span', 'author', name), el('span', 'bot', 'APP'), el('span', 'time', new Date(m.receivedAt).toLocaleString()), el('span', 'channel', '#' + m.channel));
  col.append(head);
  if (typeof body.content === 'string' && body.content) {
    const t = el('div', 'content'); renderText(t, body.content);
    // As Discord marks an edited message; the count is in the tooltip.
    if (m.edits > 0) { const e = el('span', 'edited', ' (edited)'); e.title = m.edits + ' edit' + (m.edits === 1 ? '' : 's') + ', last ' + new Date(m.editedAt).toLocaleTimeString(); t.append(e); }
    col.append(t);
  }
  for (const e of Array.isArray(body.embeds) ? body.embeds : []) {
    const box = el('div', 'embed');
    if (e.title) { const t = el('div', 'title'); renderText(t, String(e.title)); box.append(t); }
    if (e.description) { const d = el('div'); renderText(d, String(e.description)); box.append(d); }
    for (const f of Array.isArray(e.fields) ? e.fields : []) { box.append(el('div', 'field-name', String(f.name))); const v = el('div'); renderText(v, String(f.value)); box.append(v); }
    col.append(box);
  }
  row.append(col);
  return row;
}
let shown = '';
async function refresh() {
  try {
    const messages = await (await fetch('/_sink/messages')).json();
    // Redrawn when a message arrives or one is edited in place (a live card).
    const state = messages.map((m) => m.id + ':' + (m.edits || 0)).join(',');
    if (state !== shown) {
      shown = state;
      document.getElementById('empty').hidden = messages.length > 0;
      document.getElementById('count').textContent = messages.length + ' message' + (messages.length === 1 ? '' : 's');
      document.getElementById('messages').replaceChildren(...messages.map(renderMessage));
      window.scrollTo(0, document.body.scrollHeight);
    }
  } catch { /* relay stopped; keep polling */ }
}
refresh(); setInterval(refresh, 1000);
</script>
</body></html>
`;
}
