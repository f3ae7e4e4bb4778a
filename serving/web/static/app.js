// harflow's upload page: plain JavaScript, no libraries (works offline).
"use strict";

const $ = (id) => document.getElementById(id);
const maxBytes = Number(document.body.dataset.maxBytes);
const palette = ["#2f6fde", "#d9822b", "#2e9e6a", "#b0418f", "#6a5acd", "#c0392b", "#16a2b8", "#7f8c2d"];

function show(id, visible) { $(id).hidden = !visible; }

function fail(message) {
  $("status").textContent = "";
  $("error").textContent = message;
  show("error", true);
}

function percent(p) { return (100 * p).toFixed(1) + "%"; }

function colourOf(name, names) { return palette[names.indexOf(name) % palette.length]; }

function renderBars(top) {
  const list = $("classes");
  list.replaceChildren();
  for (const { class: name, probability } of top) {
    const item = document.createElement("li");
    const label = Object.assign(document.createElement("span"), { className: "name", textContent: name, title: name });
    const track = Object.assign(document.createElement("span"), { className: "track" });
    const fill = Object.assign(document.createElement("span"), { className: "fill" });
    fill.style.width = percent(probability);
    fill.style.display = "block";
    track.append(fill);
    const value = Object.assign(document.createElement("span"), { className: "value", textContent: percent(probability) });
    item.append(label, track, value);
    list.append(item);
  }
}

function renderTimeline(answer) {
  const box = $("timeline");
  box.replaceChildren();
  show("timeline-box", answer.timeline.length > 0);
  if (!answer.timeline.length) return;
  const names = [...new Set(answer.timeline.map((s) => s["class"]))];
  const first = answer.timeline[0];
  $("window").textContent = (first.end_s - first.start_s).toFixed(1) + " s";
  for (const segment of answer.timeline) {
    const block = document.createElement("div");
    block.style.flex = String(segment.end_s - segment.start_s);
    block.style.background = colourOf(segment["class"], names);
    block.textContent = segment["class"];
    block.title = `${segment.start_s.toFixed(1)}-${segment.end_s.toFixed(1)} s: ${segment["class"]} ${percent(segment.probability)} (click: play from here)`;
    block.addEventListener("click", () => { $("player").currentTime = segment.start_s; $("player").play().catch(() => {}); });
    box.append(block);
  }
}

// counting stops at the server's limit, so past it the length is a lower bound; the header's claim is only the header's
function truncationNote(answer) {
  const claim = answer.header_duration_s == null ? "" : ` (its header claims ${answer.header_duration_s.toFixed(0)} s)`;
  const length = answer.duration_complete === false ? `longer than ${answer.analysed_s.toFixed(0)} s${claim}` : `${answer.duration_s.toFixed(0)} s long`;
  return `This clip is ${length}: only its first ${answer.analysed_s.toFixed(0)} s were analysed.`;
}

function renderAnswer(answer) {
  $("file-name").textContent = answer.file;
  $("top-class").textContent = answer.top[0]["class"];
  $("top-probability").textContent = percent(answer.top[0].probability);
  renderBars(answer.top);
  $("timing").textContent = `Answered in ${answer.seconds.toFixed(2)} s for ${answer.analysed_s.toFixed(1)} s of video.`;
  $("truncated").textContent = answer.truncated ? truncationNote(answer) : "";
  show("truncated", answer.truncated);
  $("frames").replaceChildren(...(answer.frames || []).map((src) => Object.assign(document.createElement("img"), { src, alt: "a frame the model saw" })));
  renderTimeline(answer);
  $("status").textContent = "";
  show("result", true);
}

async function upload(file) {
  show("error", false);
  show("result", false);
  if (file.size > maxBytes) {
    fail(`${file.name}: ${(file.size / 1048576).toFixed(1)} MB is over the limit of ${document.body.dataset.maxMb} MB.`);
    return;
  }
  const player = $("player");
  if (player.src) URL.revokeObjectURL(player.src);
  player.src = URL.createObjectURL(file);
  show("player-note", false);
  $("status").textContent = `Analysing ${file.name} ...`;
  const form = new FormData();
  form.append("clip", file, file.name);
  try {
    const response = await fetch("api/predict", { method: "POST", body: form });
    const answer = await response.json().catch(() => ({ error: `the server answered ${response.status}` }));
    if (!response.ok) return fail(answer.error || `the server answered ${response.status}`);
    renderAnswer(answer);
  } catch (error) {
    fail(`The server could not be reached (${error.message}).`);
  }
}

$("player").addEventListener("error", () => show("player-note", true));
$("file").addEventListener("change", (event) => { if (event.target.files.length) upload(event.target.files[0]); });
const drop = $("drop");
for (const name of ["dragenter", "dragover"]) drop.addEventListener(name, (event) => { event.preventDefault(); drop.classList.add("over"); });
for (const name of ["dragleave", "drop"]) drop.addEventListener(name, () => drop.classList.remove("over"));
drop.addEventListener("drop", (event) => {
  event.preventDefault();
  if (event.dataTransfer.files.length) upload(event.dataTransfer.files[0]);
});
