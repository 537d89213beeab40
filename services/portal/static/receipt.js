// Checks each history entry's receipt in the browser, so a worker need not trust the server
// that shows the page: the checkpoint's Ed25519 signature against the log key this browser
// pinned, then the RFC 9162 inclusion proof of the entry's leaf (SHA-256, WebCrypto).
// An ES module with no build step; loaded by <script type="module"> (CSP: script-src 'self').

const DASH = "\u2014";
const PIN = "ohs.audit.log-key";
const encoder = new TextEncoder();

function fromBase64(text) {
  if (typeof text !== "string" || !/^[A-Za-z0-9+/]*={0,2}$/.test(text) || text.length % 4) {
    throw new Error("not base64");
  }
  const bin = atob(text);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) { out[i] = bin.charCodeAt(i); }
  return out;
}

function concat(...parts) {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) { out.set(p, at); at += p.length; }
  return out;
}

function same(a, b) {
  if (a.length !== b.length) { return false; }
  let diff = 0;
  for (let i = 0; i < a.length; i++) { diff |= a[i] ^ b[i]; }
  return diff === 0;
}

async function sha256(bytes) {
  return new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
}

export function leafHash(leaf) {
  return sha256(concat(Uint8Array.of(0), leaf));
}

function nodeHash(left, right) {
  return sha256(concat(Uint8Array.of(1), left, right));
}

// RFC 9162 2.1.3.2, with arithmetic instead of 32-bit bit operations so that any size works.
export async function verifyInclusion(leaf, index, size, proof, root) {
  if (!Number.isSafeInteger(index) || !Number.isSafeInteger(size) || index < 0 || index >= size) {
    return false;
  }
  let fn = index;
  let sn = size - 1;
  let r = leaf;
  for (const p of proof) {
    if (sn === 0) { return false; }
    if (fn % 2 === 1 || fn === sn) {
      r = await nodeHash(p, r);
      if (fn % 2 === 0) {
        while (fn !== 0 && fn % 2 === 0) { fn /= 2; sn = Math.floor(sn / 2); }
      }
    } else {
      r = await nodeHash(r, p);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return sn === 0 && same(r, root);
}

// <name>+<hex key hash>+<base64(0x01 || 32-byte Ed25519 key)> (C2SP signed-note).
export async function parseVerifierKey(value) {
  const text = String(value || "").trim();
  const first = text.indexOf("+");
  const second = text.indexOf("+", first + 1);
  if (first <= 0 || second < 0) { throw new Error("a verifier key reads <name>+<hash>+<key>"); }
  const name = text.slice(0, first);
  const hashHex = text.slice(first + 1, second);
  const raw = fromBase64(text.slice(second + 1));
  if (raw.length !== 33 || raw[0] !== 1) { throw new Error("not an Ed25519 verifier key"); }
  const publicKey = raw.slice(1);
  const keyHash = (await sha256(concat(encoder.encode(name + "\n"), raw))).slice(0, 4);
  const hex = Array.from(keyHash, (b) => b.toString(16).padStart(2, "0")).join("");
  if (/\s/.test(name) || hex !== hashHex.toLowerCase()) {
    throw new Error("the verifier key's hash does not match its name and key");
  }
  return { name, keyHash, publicKey, string: text };
}

// The checkpoint body (origin, size, root) of a note signed by `verifier`.
async function openCheckpoint(note, verifier) {
  const cut = note.lastIndexOf("\n\n");
  if (cut < 0 || !note.endsWith("\n")) { throw new Error("the checkpoint is not a signed note"); }
  const text = note.slice(0, cut + 1);
  let signature = null;
  for (const line of note.slice(cut + 2, -1).split("\n")) {
    const fields = line.split(" ");
    if (fields.length !== 3 || fields[0] !== DASH) { throw new Error("not a signature line"); }
    const blob = fromBase64(fields[2]);
    if (fields[1] === verifier.name && blob.length > 4 && same(blob.slice(0, 4), verifier.keyHash)) {
      signature = blob.slice(4);
      break;
    }
  }
  if (!signature) { throw new Error("the checkpoint is not signed by the pinned key"); }
  const key = await crypto.subtle.importKey("raw", verifier.publicKey, { name: "Ed25519" }, false, [
    "verify",
  ]);
  if (!(await crypto.subtle.verify({ name: "Ed25519" }, key, signature, encoder.encode(text)))) {
    throw new Error("the checkpoint's signature does not verify");
  }
  const lines = text.split("\n");
  if (lines.length < 4 || !lines[0] || !/^(0|[1-9][0-9]*)$/.test(lines[1])) {
    throw new Error("the checkpoint is malformed");
  }
  const root = fromBase64(lines[2]);
  if (root.length !== 32) { throw new Error("the checkpoint's root is not 32 bytes"); }
  return { origin: lines[0], size: Number(lines[1]), root };
}

// {ok, problem, eventId, leafIndex, treeSize} of one receipt against a parsed verifier key.
export async function verifyReceipt(receipt, verifier, expectedEventId) {
  const out = { ok: false, problem: null, eventId: null, leafIndex: null, treeSize: null };
  try {
    if (!receipt || typeof receipt !== "object") { throw new Error("no receipt"); }
    out.leafIndex = receipt.leaf_index;
    out.treeSize = receipt.tree_size;
    const leaf = fromBase64(receipt.leaf);
    const envelope = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(leaf));
    if (!envelope || envelope.event_id === undefined) { throw new Error("the leaf holds no event_id"); }
    out.eventId = String(envelope.event_id);
    if (expectedEventId !== undefined && expectedEventId !== null && out.eventId !== String(expectedEventId)) {
      throw new Error("the receipt is of another event");
    }
    const body = await openCheckpoint(String(receipt.checkpoint), verifier);
    if (body.origin !== receipt.log) { throw new Error("the checkpoint is of another log"); }
    if (body.size !== receipt.tree_size) { throw new Error("the checkpoint's size differs"); }
    if (!Array.isArray(receipt.inclusion_proof)) { throw new Error("no inclusion proof"); }
    const proof = receipt.inclusion_proof.map(fromBase64);
    if (!(await verifyInclusion(await leafHash(leaf), receipt.leaf_index, receipt.tree_size, proof, body.root))) {
      throw new Error("the inclusion proof does not lead to the signed root");
    }
    out.ok = true;
  } catch (err) {
    out.problem = err && err.message ? err.message : String(err);
  }
  return out;
}

// The key this browser pinned (the first it saw); null when the page carries another one.
export function pinKey(served) {
  let pinned = null;
  try { pinned = window.localStorage.getItem(PIN); } catch (err) { pinned = null; }
  if (!pinned) {
    try { window.localStorage.setItem(PIN, served); } catch (err) { /* private mode: no pin */ }
    return served;
  }
  return pinned === served ? pinned : null;
}

function show(li, state, words) {
  const mark = li.querySelector(".receipt");
  if (!mark) { return; }
  mark.dataset.state = state;
  mark.textContent = words[state] || state;
}

async function checkEntry(li, verifier, words) {
  if (li.dataset.checked) { return; }
  li.dataset.checked = "1";
  if (li.dataset.pending) { show(li, "pending", words); return; }
  if (!li.dataset.receipt) { show(li, "none", words); return; }
  if (!verifier) { show(li, "unchecked", words); return; }
  let receipt = null;
  try { receipt = JSON.parse(li.dataset.receipt); } catch (err) { receipt = null; }
  const result = await verifyReceipt(receipt, verifier, li.dataset.event);
  show(li, result.ok ? "verified" : "failed", words);
  const mark = li.querySelector(".receipt");
  if (mark) {
    mark.title = result.ok
      ? `${words.leaf} ${result.leafIndex} · ${words.tree} ${result.treeSize}`
      : result.problem || "";
  }
}

async function start() {
  const list = document.getElementById("entries");
  if (!list) { return; }
  const words = JSON.parse(list.dataset.receiptWords || "{}");
  let verifier = null;
  const served = list.dataset.logKey || "";
  // WebCrypto exists only in a secure context (HTTPS, or the loopback in development).
  if (served && globalThis.crypto && crypto.subtle) {
    const pinned = pinKey(served);
    if (pinned) {
      try { verifier = await parseVerifierKey(pinned); } catch (err) { verifier = null; }
    } else {
      const warning = document.getElementById("log-key-warning");
      if (warning) { warning.hidden = false; }
    }
  }
  const pending = [];
  const checkAll = () => {
    for (const li of list.querySelectorAll("li.entry")) { pending.push(checkEntry(li, verifier, words)); }
  };
  checkAll();
  // Entries the live poll inserts at the top are checked as they arrive.
  new MutationObserver(checkAll).observe(list, { childList: true });
  await Promise.all(pending);
  list.dataset.receiptsChecked = "1";
}

if (typeof document !== "undefined") { start(); }
