'use strict';
/*
 * The Node side of the interop test: clients built on the `ws` library
 * (Debian's node-ws), driven by test/interop/run.py.
 *
 * Usage: /usr/bin/node peer.js ws://127.0.0.1:PORT/ws /usr/share/nodejs/ws [CA]
 * The second argument is the ws module by its full path (run.py passes
 * Debian's node-ws), so neither NODE_PATH nor npm plays any part.  With a
 * wss:// URL, CA is the certificate to trust (PEM).  Runs on Node 18,
 * Debian 12's nodejs.
 *
 * Protocol: one JSON command per line on stdin, one JSON reply per line on
 * stdout, in order.  Every command carries an "id" that its reply repeats,
 * with "ok": true and the results, or "ok": false and "error".  A received
 * message is reported as {b: isBinary, n: bytes, h: sha256 hex, t: the text
 * when it is short}, so the driver can compare it with what was sent
 * without shipping megabytes through the pipe.
 *
 *   open   {n}                        connect n clients at once
 *   send   {client, binary, size, fragments, text?}
 *                                     send one message (generated here, or
 *                                     `text`), in `fragments` frames; text
 *                                     is cut at arbitrary byte positions,
 *                                     so fragments may split a character
 *   burst  {count}                    every open client sends count short
 *                                     texts "<label>:<k>" at once
 *   take   {clients, count, timeout_ms}
 *                                     wait until each listed client holds
 *                                     count messages, hand them over
 *   close  {client, code, reason, timeout_ms}
 *                                     close handshake; report what the
 *                                     'close' event said
 *   wait_closed {clients, timeout_ms} wait for the server to close them
 *   quit
 */
const crypto = require('crypto');
const readline = require('readline');
const url = process.argv[2];
const WS_MODULE = process.argv[3];
const WebSocket = require(WS_MODULE);
const CA = process.argv[4] ? require('fs').readFileSync(process.argv[4]) : undefined;
const clients = []; // {ws, label, port, msgs, closed: {code, reason}, error}
const SHORT_TEXT = 64;

function describe(data, isBinary) {
	const m = { b: isBinary, n: data.length,
	    h: crypto.createHash('sha256').update(data).digest('hex') };
	if (!isBinary && data.length <= SHORT_TEXT)
		m.t = data.toString('utf8');
	return m;
}

/* Valid UTF-8 of exactly `size` bytes: ASCII with 2-, 3- and 4-byte
 * characters mixed in. */
function makeText(size) {
	const noise = crypto.randomBytes(size);
	const out = Buffer.alloc(size);
	const wide = [Buffer.from('é'), Buffer.from('€'), Buffer.from('😀')];
	let i = 0;

	while (i < size) {
		const r = noise[i];
		const w = r < 8 ? wide[2] : r < 24 ? wide[1] : r < 48 ? wide[0] : null;

		if (w && size - i >= w.length) {
			w.copy(out, i);
			i += w.length;
		} else
			out[i++] = 0x20 + (r % 95);
	}
	return out;
}

/* Something happened to some client: run each pending until() check once. */
let waiters = [];
function wake() {
	const now = waiters;

	waiters = [];
	for (const w of now)
		w();
}

function connect(index) {
	return new Promise((resolve, reject) => {
		const ws = new WebSocket(url, { maxPayload: 64 << 20, ca: CA });
		const c = { ws, label: 'node' + index, port: null, msgs: [],
		    closed: null, error: null };

		ws.on('upgrade', (res) => { c.port = res.socket.localPort; });
		ws.on('open', () => resolve(c));
		ws.on('message', (data, isBinary) => {
			c.msgs.push(describe(data, isBinary));
			wake();
		});
		ws.on('close', (code, reason) => {
			c.closed = { code, reason: reason.toString('utf8') };
			wake();
		});
		ws.on('error', (err) => {
			c.error = String(err.message || err);
			if (ws.readyState === WebSocket.CONNECTING)
				reject(err);
			wake();
		});
		ws.on('unexpected-response', (req, res) => {
			reject(new Error('unexpected HTTP ' + res.statusCode));
		});
	});
}

/* Resolves once pred() holds for every listed client, or at the deadline. */
function until(list, pred, timeoutMs) {
	return new Promise((resolve) => {
		const deadline = Date.now() + timeoutMs;
		let timer = null;
		const check = () => {
			if (list.every(pred) || Date.now() >= deadline) {
				clearTimeout(timer);
				resolve(list.every(pred));
				return;
			}
			waiters.push(check);
		};
		timer = setTimeout(check, timeoutMs + 1);
		check();
	});
}

function sendFrame(ws, data, opts) {
	return new Promise((resolve, reject) => {
		ws.send(data, opts, (err) => (err ? reject(err) : resolve()));
	});
}

/* A random position inside a multi-byte UTF-8 character of buf (before a
 * continuation byte), or -1 if a few hundred probes find none. */
function insideCharacter(buf) {
	for (let tries = 0; tries < 500 && buf.length > 0; tries++) {
		const i = Math.floor(Math.random() * buf.length);

		if ((buf[i] & 0xc0) === 0x80)
			return i;
	}
	return -1;
}

/* Splits buf into `parts` pieces at random byte positions (some may be
 * empty when parts > 2); for text, one cut splits a character if it can. */
function split(buf, parts, text) {
	const cuts = [];
	const inside = text ? insideCharacter(buf) : -1;

	if (inside >= 0 && parts > 1)
		cuts.push(inside);
	while (cuts.length < parts - 1)
		cuts.push(Math.floor(Math.random() * (buf.length + 1)));
	cuts.sort((a, b) => a - b);
	const out = [];
	let prev = 0;
	for (const cut of cuts) {
		out.push(buf.subarray(prev, cut));
		prev = cut;
	}
	out.push(buf.subarray(prev));
	return out;
}

function pick(which) {
	if (which === 'all')
		return clients.filter((c) => !c.closed);
	return which.map((i) => clients[i]);
}

const commands = {
	async open(cmd) {
		const base = clients.length;
		const made = await Promise.all(
		    Array.from({ length: cmd.n }, (_, i) => connect(base + i)));
		clients.push(...made);
		return { ports: made.map((c) => c.port),
		    version: require(WS_MODULE + '/package.json').version };
	},

	async send(cmd) {
		const c = clients[cmd.client];
		const binary = !!cmd.binary;
		const data = cmd.text !== undefined ? Buffer.from(cmd.text, 'utf8') :
		    binary ? crypto.randomBytes(cmd.size) : makeText(cmd.size);
		const pieces = cmd.fragments > 1 ?
		    split(data, cmd.fragments, !binary) : [data];

		for (let i = 0; i < pieces.length; i++)
			await sendFrame(c.ws, pieces[i],
			    { binary, fin: i === pieces.length - 1, compress: false });
		return { sent: describe(data, binary),
		    sizes: pieces.map((p) => p.length) };
	},

	async burst(cmd) {
		const senders = pick('all');
		const sent = {};

		await Promise.all(senders.map(async (c) => {
			sent[c.label] = [];
			for (let k = 0; k < cmd.count; k++) {
				const text = c.label + ':' + k;
				sent[c.label].push(text);
				await sendFrame(c.ws, text, { binary: false });
			}
		}));
		return { sent };
	},

	async take(cmd) {
		const list = pick(cmd.clients);
		const complete = await until(list,
		    (c) => c.msgs.length >= cmd.count || c.closed, cmd.timeout_ms);

		return { complete, msgs: list.map((c) => c.msgs.splice(0, cmd.count)),
		    closed: list.map((c) => c.closed), errors: list.map((c) => c.error) };
	},

	async close(cmd) {
		const c = clients[cmd.client];

		c.ws.close(cmd.code, cmd.reason);
		const done = await until([c], (x) => x.closed, cmd.timeout_ms);
		return { done, closed: c.closed, error: c.error };
	},

	async wait_closed(cmd) {
		const list = pick(cmd.clients);
		const done = await until(list, (c) => c.closed, cmd.timeout_ms);

		return { done, closed: list.map((c) => c.closed),
		    errors: list.map((c) => c.error) };
	},

	async quit() {
		for (const c of clients)
			if (!c.closed)
				c.ws.terminate();
		setImmediate(() => process.exit(0));
		return {};
	},
};

/* Commands run one at a time, in the order they arrive. */
let chain = Promise.resolve();
readline.createInterface({ input: process.stdin }).on('line', (line) => {
	const cmd = JSON.parse(line);

	chain = chain.then(async () => {
		let reply;
		try {
			reply = Object.assign({ id: cmd.id, ok: true },
			    await commands[cmd.cmd](cmd));
		} catch (err) {
			reply = { id: cmd.id, ok: false, error: String(err.stack || err) };
		}
		process.stdout.write(JSON.stringify(reply) + '\n');
	});
}).on('close', () => {
	for (const c of clients)
		if (!c.closed)
			c.ws.terminate();
	process.exit(0);
});
