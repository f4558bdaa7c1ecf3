// Screenshots of the real TensorBoard pages, taken by a headless Chromium over the DevTools protocol.
//
//   tensorboard --logdir /tmp/qs/lightning_logs --port 6123 &
//   node --experimental-websocket docs/workflows/screenshot_dashboard.mjs http://127.0.0.1:6123 docs/workflows/img
//
// Needs Node 20+ (its WebSocket) and a Chromium (Debian: `apt-get install chromium-headless-shell`;
// CHROMIUM=path to use another). Each page opens with smoothing 0 (`_smoothingWeight=0` in the URL)
// and outliers not ignored (TensorBoard keeps that setting in the browser's localStorage), as
// docs/workflows/dashboard.md tells a reader to set them.
import { spawn } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const [board, out] = process.argv.slice(2);
const PAGES = {
  custom_scalars: ["#custom_scalars&_smoothingWeight=0", 1400, 1500],
  scalars: ["#scalars&_smoothingWeight=0", 1400, 1100],
  hparams: ["#hparams", 2000, 420],
  images: ["#images", 1400, 1000],
  text: ["#text", 1400, 900],
};
const PORT = 9333;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const chrome = spawn(process.env.CHROMIUM || "chromium-headless-shell", [
  "--no-sandbox", "--disable-gpu", "--hide-scrollbars", `--remote-debugging-port=${PORT}`,
  `--user-data-dir=${mkdtempSync(join(tmpdir(), "tb-shots-"))}`, "about:blank",
], { stdio: "ignore" });
try {
  let targets;
  for (let i = 0; i < 50 && !targets; i++) {
    try { targets = await (await fetch(`http://127.0.0.1:${PORT}/json/list`)).json(); } catch { await sleep(200); }
  }
  const page = targets.find((t) => t.type === "page");
  const ws = new WebSocket(page.webSocketDebuggerUrl);
  await new Promise((r) => ws.addEventListener("open", r, { once: true }));
  let id = 0;
  const pending = new Map();
  ws.addEventListener("message", (m) => {
    const msg = JSON.parse(m.data);
    if (pending.has(msg.id)) { pending.get(msg.id)(msg); pending.delete(msg.id); }
  });
  const send = (method, params = {}) => new Promise((r) => {
    pending.set(++id, r);
    ws.send(JSON.stringify({ id, method, params }));
  });
  await send("Page.enable");
  await send("Page.navigate", { url: `${board}/` });
  await sleep(3000);
  await send("Runtime.evaluate", { expression: "localStorage.setItem('_ignoreYOutliers', 'false')" });
  for (const [name, [hash, width, height]] of Object.entries(PAGES)) {
    await send("Emulation.setDeviceMetricsOverride", { width, height, deviceScaleFactor: 1, mobile: false });
    await send("Page.navigate", { url: "about:blank" });
    await send("Page.navigate", { url: `${board}/${hash}` });
    await sleep(Number(process.env.WAIT_MS || 15000));  // a loaded machine draws slowly
    const shot = await send("Page.captureScreenshot", { format: "png" });
    writeFileSync(join(out, `tb_${name}.png`), Buffer.from(shot.result.data, "base64"));
    console.log(`${out}/tb_${name}.png`);
  }
  ws.close();
} finally {
  chrome.kill();
}
