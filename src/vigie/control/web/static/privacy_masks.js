// Privacy masks (CSI L251-3) drawn by the browser over a <video>: one opaque
// black SVG polygon per mask, placed exactly over the picture area of the
// element (object-fit: contain letterboxes the picture inside its box).
// Points are fractions of the picture ([0, 1], x from the left, y from the
// top), so the SVG uses a 0..1 viewBox stretched over that area.
// The stream itself still carries the pixels: this only hides them on screen.
// Loaded after common.js by the live and playback pages.
"use strict";

const SVG_NS = "http://www.w3.org/2000/svg";

// "x,y x,y …" for an SVG polygon's points attribute.
function maskPoints(mask) {
  return mask.points.map(([x, y]) => `${x},${y}`).join(" ");
}

// The rectangle (px, relative to the video's offset parent) where a video with
// object-fit: contain shows its picture; the whole box while its size is unknown.
function pictureArea(video) {
  const left = video.offsetLeft + video.clientLeft, top = video.offsetTop + video.clientTop;
  const boxW = video.clientWidth, boxH = video.clientHeight;
  const vw = video.videoWidth, vh = video.videoHeight;
  if (!vw || !vh || !boxW || !boxH) return {left, top, width: boxW, height: boxH};
  const scale = Math.min(boxW / vw, boxH / vh);
  const width = vw * scale, height = vh * scale;
  return {left: left + (boxW - width) / 2, top: top + (boxH - height) / 2, width, height};
}

class MaskOverlay {
  // `video`'s parent must be positioned (the overlay is absolutely placed in it).
  constructor(video, masks = []) {
    this.video = video;
    this.masks = [];
    const svg = this.svg = document.createElementNS(SVG_NS, "svg");
    svg.setAttribute("class", "privacy-masks");
    svg.setAttribute("viewBox", "0 0 1 1");
    svg.setAttribute("preserveAspectRatio", "none");
    svg.setAttribute("aria-hidden", "true");
    video.insertAdjacentElement("afterend", svg);
    this.place = this.place.bind(this);
    // Kept right when the box changes (window, grid size) and when the
    // picture's own size becomes known or changes (resolution change).
    this.resizeObserver = new ResizeObserver(this.place);
    this.resizeObserver.observe(video);
    video.addEventListener("loadedmetadata", this.place);
    video.addEventListener("resize", this.place);
    this.set(masks);
  }

  set(masks) {
    masks = masks || [];
    if (JSON.stringify(masks) === JSON.stringify(this.masks)) return;
    this.masks = masks;
    this.svg.textContent = "";
    for (const m of masks) {
      const p = document.createElementNS(SVG_NS, "polygon");
      p.setAttribute("points", maskPoints(m));
      p.setAttribute("fill", "#000");
      p.dataset.label = m.label || "";
      this.svg.appendChild(p);
    }
    this.svg.style.display = masks.length ? "" : "none";
    this.place();
  }

  place() {
    const a = pictureArea(this.video);
    const s = this.svg.style;
    s.left = `${a.left}px`; s.top = `${a.top}px`;
    s.width = `${a.width}px`; s.height = `${a.height}px`;
  }

  remove() {
    this.resizeObserver.disconnect();
    this.video.removeEventListener("loadedmetadata", this.place);
    this.video.removeEventListener("resize", this.place);
    this.svg.remove();
  }
}
