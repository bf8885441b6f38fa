// A scan's result drawn on a canvas: one pixel per sample (0–255) through a perceptual colour map; rows of
// segments that have not arrived yet are drawn as a grey checkerboard, so "not yet" never looks like "zero".

import { h } from './ui.js';

// Anchors of an inferno-like map (dark purple → red → yellow), interpolated to 256 entries.
const anchors = [
  [0, [0, 0, 4]], [0.13, [31, 12, 72]], [0.25, [85, 15, 109]], [0.38, [136, 34, 106]],
  [0.5, [186, 54, 85]], [0.63, [227, 89, 51]], [0.75, [249, 140, 10]], [0.88, [249, 201, 50]], [1, [252, 255, 164]],
];

export const palette = (() => {
  const lut = new Uint8ClampedArray(256 * 3);
  for (let i = 0; i < 256; i++) {
    const t = i / 255;
    let k = 0;
    while (k < anchors.length - 2 && t > anchors[k + 1][0]) k++;
    const [t0, c0] = anchors[k];
    const [t1, c1] = anchors[k + 1];
    const f = (t - t0) / (t1 - t0);
    for (let c = 0; c < 3; c++) lut[i * 3 + c] = c0[c] + (c1[c] - c0[c]) * f;
  }
  return lut;
})();

/** Rows [start, end) of a segment, split as the node splits them (ScanParameters.SegmentRows). */
export function segmentRows(params, segment) {
  return [Math.floor((segment * params.height) / params.segments), Math.floor(((segment + 1) * params.height) / params.segments)];
}

/** Which rows hold real data: 1 for rows of done segments; null means every row (a completed scan). */
export function rowMask(params, segments) {
  if (!segments) return null;
  const mask = new Uint8Array(params.height);
  for (const s of segments) {
    if (s.state !== 'done') continue;
    const [start, end] = segmentRows(params, s.segment);
    mask.fill(1, start, end);
  }
  return mask;
}

export function draw(canvas, data, width, height, mask = null) {
  if (canvas.width !== width) canvas.width = width;
  if (canvas.height !== height) canvas.height = height;
  const context = canvas.getContext('2d');
  const image = context.createImageData(width, height);
  const out = image.data;
  for (let y = 0; y < height; y++) {
    const real = !mask || mask[y] === 1;
    for (let x = 0; x < width; x++) {
      const i = y * width + x;
      const o = i * 4;
      if (real && i < data.length) {
        const v = data[i] * 3;
        out[o] = palette[v];
        out[o + 1] = palette[v + 1];
        out[o + 2] = palette[v + 2];
      } else {
        const shade = ((x >> 2) + (y >> 2)) % 2 === 0 ? 58 : 72;
        out[o] = shade;
        out[o + 1] = shade;
        out[o + 2] = shade + 8;
      }
      out[o + 3] = 255;
    }
  }
  context.putImageData(image, 0, 0);
}

export function legend() {
  const ramp = h('canvas', { class: 'ramp', width: 256, height: 1, 'aria-hidden': 'true' });
  const context = ramp.getContext('2d');
  const image = context.createImageData(256, 1);
  for (let i = 0; i < 256; i++) {
    image.data.set([palette[i * 3], palette[i * 3 + 1], palette[i * 3 + 2], 255], i * 4);
  }
  context.putImageData(image, 0, 0);
  ramp.style.width = '100%';
  return h('div', { class: 'legend' },
    ramp,
    h('div', { class: 'ends' }, h('span', {}, '0'), h('span', {}, 'sample value'), h('span', {}, '255')),
    h('p', { class: 'hint' }, 'Grey checks: rows not received (yet).'));
}
