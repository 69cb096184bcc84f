/**
 * The live dashboard: plain browser JavaScript, no build step. It talks to the sidecar over the same
 * WebSocket JSON-RPC API that clients use: `xcmp_status` and `xcmp_getChannels` (polled), one
 * `xcmp_subscribeInbox` per recipient (replaying the last blocks at load) and `xcmp_subscribeCandidates`.
 * Everything from the chain is rendered with textContent, never as HTML.
 */

const RATE_WINDOW = 20;
const MAX_MESSAGES = 100;
const MAX_CANDIDATES = 16;
/** Blocks of candidates replayed when the page loads, to fill the table. */
const CANDIDATE_REPLAY_BLOCKS = 8;
const STATUS_EVERY_MS = 2000;
const CHANNELS_EVERY_MS = 5000;
const FORMATS = { '00': 'xcm', '01': 'blob', '02': 'signals', '03': 'opaque xcm' };
const SVG = 'http://www.w3.org/2000/svg';

/** A small JSON-RPC 2.0 client over one WebSocket, with Substrate-style subscriptions. */
class RpcClient {
  #ws = null;
  #nextId = 1;
  #pending = new Map();
  #listeners = new Map();
  /** Notifications that arrived before their subscribe call's answer. */
  #early = new Map();

  constructor(url, { onOpen, onClose }) {
    this.url = url;
    this.onOpen = onOpen;
    this.onClose = onClose;
  }

  connect() {
    const ws = new WebSocket(this.url);
    this.#ws = ws;
    ws.onopen = () => this.onOpen();
    ws.onmessage = (event) => this.#receive(JSON.parse(event.data));
    ws.onclose = () => {
      for (const { reject } of this.#pending.values()) reject(new Error('connection closed'));
      this.#pending.clear();
      this.#listeners.clear();
      this.#early.clear();
      this.onClose();
      setTimeout(() => this.connect(), 1000);
    };
  }

  call(method, params = []) {
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      this.#ws.send(JSON.stringify({ jsonrpc: '2.0', id, method, params }));
    });
  }

  async subscribe(method, params, onResult) {
    const subscription = await this.call(method, params);
    this.#listeners.set(subscription, onResult);
    for (const result of this.#early.get(subscription) ?? []) onResult(result);
    this.#early.delete(subscription);
    return subscription;
  }

  #receive(message) {
    if (message.id !== undefined && this.#pending.has(message.id)) {
      const { resolve, reject } = this.#pending.get(message.id);
      this.#pending.delete(message.id);
      if (message.error) reject(new Error(`${message.error.code} ${message.error.message}`));
      else resolve(message.result);
      return;
    }
    const subscription = message.params?.subscription;
    if (subscription === undefined) return;
    const listener = this.#listeners.get(subscription);
    if (listener) listener(message.params.result);
    else this.#early.set(subscription, [...(this.#early.get(subscription) ?? []), message.params.result]);
  }
}

/** What the page shows, kept between reconnects. */
const state = {
  status: null,
  channels: [],
  /** message id → message, for the recent window */
  messages: new Map(),
  /** candidate hash → { candidate, updatedIn } */
  candidates: new Map(),
  /** "candidateHash:position" → pending message (finality "pending"), until enacted or dropped. */
  pending: new Map(),
  /** para block hash → its announced messages (finality "speculative"), until backed, withdrawn or contradicted. */
  speculative: new Map(),
  lastSpeculativeEnd: null,
  lastDrop: null,
  subscribedRecipients: new Set(),
  /** journey key → the latest journey seen (xcmp_subscribeJourneys), newest last. */
  journeys: new Map(),
  journeysSubscribed: false,
  renderedMessageIds: new Set(),
};

const $ = (selector) => document.querySelector(selector);

function element(tag, { text, className, title, data } = {}, children = []) {
  const node = document.createElement(tag);
  if (text !== undefined) node.textContent = String(text);
  if (className) node.className = className;
  if (title) node.title = title;
  for (const [key, value] of Object.entries(data ?? {})) node.dataset[key] = String(value);
  for (const child of children) node.append(child);
  return node;
}

function svg(tag, attributes = {}, children = []) {
  const node = document.createElementNS(SVG, tag);
  for (const [key, value] of Object.entries(attributes)) node.setAttribute(key, String(value));
  for (const child of children) node.append(child);
  return node;
}

const short = (hash) => `${hash.slice(0, 8)}…${hash.slice(-4)}`;
const channelKey = (sender, recipient) => `${sender}→${recipient}`;

function compareMessages(a, b) {
  return b.sentAt - a.sentAt || a.sender - b.sender || a.recipient - b.recipient || b.index - a.index;
}

/** Messages per block for each channel over the last RATE_WINDOW stored blocks. */
function channelRates() {
  const synced = state.status?.synced;
  const rates = new Map();
  if (synced === null || synced === undefined) return { rates, total: 0, window: 0 };
  const from = Math.max(0, synced - RATE_WINDOW + 1);
  const window = synced - from + 1;
  let total = 0;
  for (const message of state.messages.values()) {
    if (message.sentAt < from || message.sentAt > synced) continue;
    const key = channelKey(message.sender, message.recipient);
    rates.set(key, (rates.get(key) ?? 0) + 1);
    total++;
  }
  for (const [key, count] of rates) rates.set(key, count / window);
  return { rates, total: total / window, window };
}

function renderStatus({ total }) {
  const status = state.status;
  if (!status) return;
  $('#chain').textContent = status.chain ?? 'unknown chain';
  $('#node').textContent = `${status.node.url} · node ${status.node.connected ? 'connected' : 'unreachable'}`;
  const fields = {
    best: status.best,
    finalized: status.finalized,
    synced: status.synced,
    lag: status.lag,
    messages: status.counts.messages,
    rate: total.toFixed(2),
    unverified: status.counts.unverifiedMessages,
    candidates: status.counts.candidates,
    pending: state.pending.size,
    speculative: [...state.speculative.values()].reduce((n, messages) => n + messages.size, 0),
  };
  for (const [field, value] of Object.entries(fields)) {
    const cell = document.querySelector(`#head [data-field="${field}"]`);
    cell.textContent = value === null || value === undefined ? '–' : value.toLocaleString('en');
  }
  $('#head [data-field="unverified"]').classList.toggle('bad', status.counts.unverifiedMessages > 0);
  $('#head [data-field="lag"]').classList.toggle('bad', (status.lag ?? 0) > 3);
  $('#head [data-field="pending"]').title = state.lastDrop ? `last dropped: ${state.lastDrop}` : '';
  const nodes = (status.paraNodes ?? []).map((n) => `${n.paraId ?? n.url} ${n.state}`);
  $('#head [data-field="speculative"]').title = [
    nodes.length ? `para nodes: ${nodes.join(', ')}` : 'no para node attached (--para)',
    state.lastSpeculativeEnd ? `last ended: ${state.lastSpeculativeEnd}` : '',
  ]
    .filter(Boolean)
    .join(' · ');
  const footer = $('#failures');
  const failures = Object.entries(status.verificationFailures);
  footer.hidden = failures.length === 0 && !status.lastError;
  footer.textContent = [
    failures.length ? `verification failures: ${failures.map(([k, n]) => `${k} ${n}`).join(', ')}` : '',
    status.lastError ? `last error: ${status.lastError}` : '',
  ]
    .filter(Boolean)
    .join(' · ');
}

/** Senders in the left column, recipients in the right, one curve per HRMP channel. */
function renderGraph({ rates, window }) {
  const graph = $('#graph');
  document.querySelector('#channels .window').textContent = String(window || RATE_WINDOW);
  const senders = [...new Set(state.channels.map((c) => c.sender))].sort((a, b) => a - b);
  const recipients = [...new Set(state.channels.map((c) => c.recipient))].sort((a, b) => a - b);
  // Compact rows when there are many paras (the --scale devnet has 100).
  const rows = Math.max(senders.length, recipients.length, 1);
  const rowHeight = rows > 16 ? 16 : 34;
  const box = rows > 16 ? { height: 13, font: 10 } : { height: 24, font: 12 };
  const height = rows * rowHeight + 30;
  const width = 520;
  const leftX = 70;
  const rightX = width - 70;
  const y = (index) => 30 + index * rowHeight + rowHeight / 2;
  graph.setAttribute('viewBox', `0 0 ${width} ${height}`);
  graph.replaceChildren();
  graph.append(
    svg('text', { x: leftX, y: 14, 'text-anchor': 'middle', class: 'column' }, ['senders']),
    svg('text', { x: rightX, y: 14, 'text-anchor': 'middle', class: 'column' }, ['recipients']),
  );
  for (const channel of state.channels) {
    const ys = y(senders.indexOf(channel.sender));
    const yr = y(recipients.indexOf(channel.recipient));
    const key = channelKey(channel.sender, channel.recipient);
    const rate = rates.get(key) ?? 0;
    const mid = (leftX + rightX) / 2;
    const path = svg('path', {
      d: `M ${leftX + 34} ${ys} C ${mid} ${ys}, ${mid} ${yr}, ${rightX - 34} ${yr}`,
      'stroke-width': (1 + Math.min(rate, 4) * 2).toFixed(1),
    });
    const title = svg('title', {}, [
      `${key}: ${rate.toFixed(2)} msgs/block, ${channel.msgCount} queued, MQC head verified at #${channel.verifiedAt}`,
    ]);
    graph.append(
      svg(
        'g',
        {
          class: `channel${rate === 0 ? ' idle' : ''}`,
          'data-sender': channel.sender,
          'data-recipient': channel.recipient,
          'data-rate': rate.toFixed(2),
        },
        [path, title],
      ),
    );
  }
  const para = (id, x, index, side) =>
    svg('g', { class: 'para', 'data-para': id, 'data-side': side }, [
      svg('rect', { x: x - 34, y: y(index) - box.height / 2, width: 68, height: box.height, rx: 4 }),
      svg('text', { x, y: y(index) + box.font / 3, 'text-anchor': 'middle', 'font-size': box.font }, [
        String(id),
      ]),
    ]);
  graph.append(
    ...senders.map((id, index) => para(id, leftX, index, 'sender')),
    ...recipients.map((id, index) => para(id, rightX, index, 'recipient')),
  );
}

/** The busiest channels first, at most a dozen rows. */
function renderChannelRates({ rates }) {
  const rows = state.channels
    .map((channel) => ({ channel, rate: rates.get(channelKey(channel.sender, channel.recipient)) ?? 0 }))
    .sort(
      (a, b) =>
        b.rate - a.rate || a.channel.sender - b.channel.sender || a.channel.recipient - b.channel.recipient,
    )
    .slice(0, 12);
  $('#channel-rates tbody').replaceChildren(
    ...rows.map(({ channel, rate }) =>
      element('tr', { data: { sender: channel.sender, recipient: channel.recipient } }, [
        element('td', { text: channelKey(channel.sender, channel.recipient) }),
        element('td', { text: rate.toFixed(2) }),
        element('td', { text: channel.msgCount }),
        element('td', { text: `#${channel.verifiedAt}` }),
      ]),
    ),
  );
}

function pulse(sender, recipient) {
  const edge = document.querySelector(
    `#graph .channel[data-sender="${sender}"][data-recipient="${recipient}"]`,
  );
  if (!edge) return;
  edge.classList.add('pulse');
  setTimeout(() => edge.classList.remove('pulse'), 600);
}

function renderMessages(rows) {
  const body = $('#messages tbody');
  const firstRender = state.renderedMessageIds.size === 0;
  body.replaceChildren(
    ...rows.map((m) => {
      const bytes = (m.data.length - 2) / 2;
      const format = FORMATS[m.data.slice(2, 4)] ?? `0x${m.data.slice(2, 4)}`;
      // History accepted from a peer sidecar: its head proven by this sidecar's node, its
      // candidate and block hashes only the peer's claim.
      const provenance =
        m.source === 'peer'
          ? [
              element('span', {
                className: 'badge',
                text: 'from peer',
                title: `${m.peer}; candidate and block hash as the peer claimed them`,
              }),
            ]
          : [];
      const verification = m.verified
        ? element('td', {}, [element('span', { className: 'badge ok', text: 'verified' }), ...provenance])
        : element('td', {}, [
            element('span', { className: 'badge bad', text: 'unverified' }),
            element('span', { className: 'reason', text: m.reason ?? '', title: m.reason ?? '' }),
          ]);
      const fresh = !firstRender && !state.renderedMessageIds.has(m.id);
      return element('tr', { className: fresh ? 'fresh' : '', data: { id: m.id, verified: m.verified } }, [
        element('td', { text: `#${m.sentAt}` }),
        element('td', { text: channelKey(m.sender, m.recipient) }),
        element('td', { text: m.index }),
        element('td', { text: bytes }),
        element('td', { text: format }),
        element('td', { className: 'mono', text: short(m.hash), title: m.hash }),
        element('td', { className: 'mono', text: short(m.candidateHash), title: m.candidateHash }),
        verification,
      ]);
    }),
  );
  state.renderedMessageIds = new Set(rows.map((m) => m.id));
}

function renderCandidates(rows) {
  $('#candidates tbody').replaceChildren(
    ...rows.map(({ candidate }) => {
      const { votes, threshold } = candidate.availability;
      const share = threshold > 0 ? Math.min(1, votes / threshold) : 0;
      const fill = element('span');
      fill.style.width = `${(share * 100).toFixed(0)}%`;
      const bar = element('span', { className: `bar${share >= 1 ? ' full' : ''}` }, [fill]);
      return element(
        'tr',
        { data: { candidate: candidate.candidateHash, para: candidate.paraId, status: candidate.status } },
        [
          element('td', { text: candidate.paraId }),
          element('td', { text: `#${candidate.backedIn}` }),
          element('td', {}, [
            element('span', { className: `badge ${candidate.status}`, text: candidate.status }),
          ]),
          element('td', {}, [bar, element('span', { className: 'votes', text: `${votes} / ${threshold}` })]),
          element('td', {}, [
            candidate.verified
              ? element('span', { className: 'badge ok', text: 'verified' })
              : element('span', {
                  className: 'badge bad',
                  text: 'unverified',
                  title: candidate.reason ?? '',
                }),
          ]),
        ],
      );
    }),
  );
}

let renderQueued = false;
function render() {
  if (renderQueued) return;
  renderQueued = true;
  requestAnimationFrame(() => {
    renderQueued = false;
    const messages = recentMessages();
    const rates = channelRates();
    renderStatus(rates);
    renderGraph(rates);
    renderChannelRates(rates);
    renderMessages(messages);
    renderCandidates(recentCandidates());
    renderJourneys();
    renderMesh();
  });
}

const kib = (bytes) => `${(bytes / 1024).toLocaleString('en', { maximumFractionDigits: 1 })} KiB`;

/** The availability mesh (--mesh-key): this member's aged history in full and as it keeps it, and its links. */
function renderMesh() {
  const mesh = state.status?.mesh ?? null;
  const section = $('#mesh');
  section.hidden = mesh === null;
  if (!mesh) return;
  const { fullBytes, chunkBytes, rootBytes, headBytes } = mesh.sizes;
  const kept = chunkBytes + rootBytes + headBytes;
  const ratio = fullBytes > 0 ? ` (${((kept / fullBytes) * 100).toFixed(1)} % of full)` : '';
  const source = mesh.meshOnly
    ? `no relay node (mesh-only): ${mesh.feed.accepted.toLocaleString('en')} blocks taken from the members, ${mesh.feed.refused} refused · `
    : '';
  $('#mesh-summary').textContent =
    source +
    `member ${mesh.index} of ${mesh.n}, any ${mesh.k} give it back · aged up to #${mesh.agedUpTo.toLocaleString('en')} · ` +
    `in full ${kib(fullBytes)}, kept ${kib(kept)}${ratio}: chunks ${kib(chunkBytes)}, roots ${kib(rootBytes)}, heads ${kib(headBytes)} · bad chunks ${mesh.badChunks}`;
  $('#mesh-summary').classList.toggle('bad', mesh.badChunks > 0 || mesh.refusedBlocks > 0);
  const body = $('#mesh-peers tbody');
  body.replaceChildren(
    ...mesh.peers.map((peer) =>
      element('tr', {}, [
        element('td', { text: String(peer.index) }),
        element('td', { text: `${peer.key.slice(0, 10)}…`, title: peer.key }),
        element('td', { text: peer.url }),
        element('td', {
          text: peer.connected ? 'linked' : 'not linked',
          className: peer.connected ? '' : 'bad',
          title: peer.lastError ?? '',
        }),
      ]),
    ),
  );
}

const JOURNEYS_KEPT = 400;
const JOURNEYS_SHOWN = 40;
const VERDICTS = new Set(['executed', 'failed', 'overweight']);
/** Stages that say where a journey is; the others (retracted, verified, …) are told in titles. */
const TRAIL = new Set([
  'sent',
  'backed',
  'enacted',
  'delivered',
  'executed',
  'failed',
  'overweight',
  'stuck',
  'unverifiable',
  'deliveryMismatch',
]);

function onJourneyUpdate(update) {
  const { journey } = update;
  state.journeys.delete(journey.key);
  state.journeys.set(journey.key, journey);
  while (state.journeys.size > JOURNEYS_KEPT) state.journeys.delete(state.journeys.keys().next().value);
  render();
}

/** A journey's trail of stages, each marked verified or not, its evidence in the title. */
function journeyTrail(journey) {
  return journey.stages
    .filter((s) => TRAIL.has(s.stage))
    .map((s) => {
      const where = s.paraBlock
        ? `para block #${s.paraBlock.number} ${s.paraBlock.hash}`
        : `relay #${s.relayBlock}`;
      const event = s.eventIndex === undefined ? '' : ` · event #${s.eventIndex} ${s.event ?? ''}`;
      const bad =
        s.stage === 'failed' ||
        s.stage === 'stuck' ||
        s.stage === 'unverifiable' ||
        s.stage === 'deliveryMismatch';
      return element('span', {
        className: `stage${s.verified ? ' verified' : ''}${bad ? ' bad' : ''}`,
        text: `${s.stage}${s.verified ? ' ✓' : ''}`,
        title: `${where}${event}${s.reason ? ` · ${s.reason}` : ''}`,
        data: { stage: s.stage, verified: String(s.verified) },
      });
    });
}

function renderJourneys() {
  const section = $('#journeys');
  section.hidden = !state.journeysSubscribed;
  if (section.hidden) return;
  const perChannel = new Map();
  for (const journey of state.journeys.values()) {
    const channel = `${journey.sender}→${journey.recipient}`;
    const row = perChannel.get(channel) ?? { delivered: 0, executed: 0, failed: 0, overweight: 0, stuck: 0 };
    if (journey.deliveredIn) row.delivered++;
    if (journey.outcome) row[journey.outcome]++;
    const last = journey.stages.filter((s) => s.stage === 'stuck' || s.stage === 'delivered').at(-1);
    if (last?.stage === 'stuck') row.stuck++;
    perChannel.set(channel, row);
  }
  $('#journey-channels tbody').replaceChildren(
    ...[...perChannel].sort().map(([channel, row]) =>
      element('tr', { data: { channel } }, [
        element('td', { text: channel }),
        ...['delivered', 'executed', 'failed', 'overweight', 'stuck'].map((k) =>
          element('td', {
            text: row[k],
            className: (k === 'failed' || k === 'stuck') && row[k] > 0 ? 'bad' : '',
          }),
        ),
      ]),
    ),
  );
  const newest = [...state.journeys.values()].reverse().slice(0, JOURNEYS_SHOWN);
  $('#journey-list tbody').replaceChildren(
    ...newest.map((journey) =>
      element('tr', { data: { key: journey.key, outcome: journey.outcome ?? 'none' } }, [
        element('td', { text: `#${journey.sentAt}` }),
        element('td', { text: `${journey.sender}→${journey.recipient}` }),
        element('td', {
          text: `${journey.id.slice(0, 10)}…`,
          title: `id ${journey.id} · message hash ${journey.messageHash}`,
        }),
        element('td', { className: 'trail' }, journeyTrail(journey)),
        element('td', {}, [
          element('span', {
            className: `badge ${journey.outcome === 'executed' ? 'ok' : journey.outcome ? 'bad' : ''}`,
            text: journey.outcome ?? (VERDICTS.has(journey.stages.at(-1)?.stage) ? '' : 'on its way'),
          }),
        ]),
      ]),
    ),
  );
}

/** The table's messages, newest first; drops those beyond it that are also older than the rate window. */
function recentMessages() {
  const synced = state.status?.synced ?? 0;
  const sorted = [...state.messages.values()].sort(compareMessages);
  for (const [index, message] of sorted.entries()) {
    if (index >= MAX_MESSAGES && message.sentAt <= synced - RATE_WINDOW) state.messages.delete(message.id);
  }
  return sorted.slice(0, MAX_MESSAGES);
}

/** The table's candidates, newest first; drops those well beyond it. */
function recentCandidates() {
  const sorted = [...state.candidates.values()].sort(
    (a, b) => b.candidate.backedIn - a.candidate.backedIn || a.candidate.paraId - b.candidate.paraId,
  );
  for (const { candidate } of sorted.slice(MAX_CANDIDATES * 2))
    state.candidates.delete(candidate.candidateHash);
  return sorted.slice(0, MAX_CANDIDATES);
}

/** Set once the socket is open: re-reads xcmp_status soon after a block newer than it shows. */
let refreshStatusSoon = () => {};

function onInboxUpdate(update) {
  if (update.type !== 'messages') return;
  if (update.block.number > (state.status?.synced ?? 0)) refreshStatusSoon();
  for (const message of update.messages) {
    if (state.messages.has(message.id)) continue;
    state.messages.set(message.id, message);
    pulse(message.sender, message.recipient);
  }
  render();
}

/** Speculative updates: a para block's messages are kept until backed (pending), withdrawn or contradicted. */
function onSpeculative(update) {
  const hash = update.paraBlock.hash;
  if (update.type === 'speculative') {
    const messages = state.speculative.get(hash) ?? new Map();
    for (const m of update.speculative) messages.set(`${m.recipient}:${m.position}`, m);
    state.speculative.set(hash, messages);
    return;
  }
  state.speculative.delete(hash);
  state.lastSpeculativeEnd = `${update.type}${update.reason ? ` (${update.reason})` : ''} at #${update.block.number}`;
}

/**
 * Inbox updates with finality "speculative" (which carry everything "pending" does): only what is
 * announced or backed, and not yet enacted or dropped, is kept.
 */
function onPendingUpdate(update) {
  const key = (m) => `${m.candidateHash}:${m.position}`;
  if (update.paraBlock) onSpeculative(update);
  if (update.type === 'pending')
    for (const m of update.pending) {
      state.pending.set(key(m), m);
      if (m.paraHead) state.speculative.delete(m.paraHead);
    }
  if (update.type === 'dropped') {
    for (const m of update.pending) state.pending.delete(key(m));
    state.lastDrop = `${update.reason} at #${update.block.number}`;
  }
  if (update.type === 'messages') for (const m of update.messages) state.pending.delete(key(m));
  render();
}

/** Candidate updates of the best chain; a retracted backing removes the candidate, a retracted settlement reopens it. */
function onCandidateUpdate(update) {
  if (update.block.number > (state.status?.synced ?? 0)) refreshStatusSoon();
  const { candidate } = update;
  if (update.type === 'retracted' && candidate.backedIn === update.block.number)
    state.candidates.delete(candidate.candidateHash);
  else if (update.type === 'retracted')
    state.candidates.set(candidate.candidateHash, {
      candidate: { ...candidate, status: 'backed', enactedIn: null },
    });
  else state.candidates.set(candidate.candidateHash, { candidate });
  render();
}

async function refreshStatus(rpc) {
  state.status = await rpc.call('xcmp_status');
  // At once, not at the next frame: the badge may turn "live" right after this.
  $('#chain').textContent = state.status.chain ?? 'unknown chain';
  render();
}

async function refreshChannels(rpc) {
  state.channels = await rpc.call('xcmp_getChannels', [{}]);
  const synced = state.status?.synced ?? 0;
  for (const recipient of new Set(state.channels.map((c) => c.recipient))) {
    if (state.subscribedRecipients.has(recipient)) continue;
    state.subscribedRecipients.add(recipient);
    const options = {
      finality: 'finalized',
      includeUnverified: true,
      fromBlock: Math.max(0, synced - RATE_WINDOW + 1),
    };
    await rpc.subscribe('xcmp_subscribeInbox', [recipient, options], onInboxUpdate);
    await rpc.subscribe(
      'xcmp_subscribeInbox',
      [recipient, { finality: 'speculative', fromBlock: synced + 1 }],
      onPendingUpdate,
    );
  }
  render();
}

function start() {
  const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
  const timers = [];
  const labels = { loading: 'loading…', open: 'live', closed: 'closed' };
  const showConnection = (state) => {
    $('#connection').dataset.state = state;
    $('#connection').textContent = labels[state];
  };
  let statusTimer = null;
  refreshStatusSoon = () => {
    if (statusTimer) return;
    statusTimer = setTimeout(() => {
      statusTimer = null;
      refreshStatus(rpc).catch(() => {});
    }, 100);
  };
  const rpc = new RpcClient(`${scheme}://${location.host}/`, {
    onOpen: async () => {
      // "live" only once the status (chain name, heads) is on the page, never beside "connecting…".
      showConnection('loading');
      state.subscribedRecipients.clear();
      try {
        await refreshStatus(rpc);
        showConnection('open');
        // Filled at load: the last blocks' candidates are replayed, then the best chain followed.
        const fromBlock = Math.max(0, (state.status?.synced ?? 0) - CANDIDATE_REPLAY_BLOCKS);
        await rpc.subscribe('xcmp_subscribeCandidates', [{ finality: 'best', fromBlock }], onCandidateUpdate);
        await refreshChannels(rpc);
        if ((state.status?.paraNodes ?? []).length > 0) {
          await rpc.subscribe('xcmp_subscribeJourneys', [{}], onJourneyUpdate);
          state.journeysSubscribed = true;
        }
      } catch (error) {
        console.warn('dashboard setup failed', error);
      }
      const statusThenLive = () => refreshStatus(rpc).then(() => showConnection('open'));
      timers.push(setInterval(() => statusThenLive().catch(() => {}), STATUS_EVERY_MS));
      timers.push(setInterval(() => refreshChannels(rpc).catch(() => {}), CHANNELS_EVERY_MS));
    },
    onClose: () => {
      showConnection('closed');
      for (const timer of timers.splice(0)) clearInterval(timer);
    },
  });
  rpc.connect();
}

start();
