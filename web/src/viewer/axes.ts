/**
 * Axes, grid and labels around a chart scene, in tileset coordinates (z-up). Each axis spans the
 * tileset's bounding box and is labelled in data units by mapping [axis.min, axis.max] onto it,
 * which holds whether the tiler kept data units or normalised them.
 */
import * as THREE from 'three';
import { axisPosition } from '../lib/attributes';
import { axisTickLabels, axisTitle } from '../lib/axislabels';
import type { Axis } from '../lib/types';

/** Label heights as a share of the view's height: constant on screen, so a tick reads the
 * same zoomed out as zoomed in (world-sized labels shrank to a few pixels in the overview). */
const TICK_HEIGHT = 0.032;
const TITLE_HEIGHT = 0.042;

export function buildAxes(axes: { x: Axis; y: Axis; z: Axis }, box: THREE.Box3): THREE.Group {
  const group = new THREE.Group();
  group.name = 'axes';
  const { min, max } = box;
  const size = box.getSize(new THREE.Vector3());
  const scale = Math.max(size.x, size.y, size.z) || 1;
  const lines: number[] = [];
  const line = (a: THREE.Vector3, b: THREE.Vector3) => lines.push(a.x, a.y, a.z, b.x, b.y, b.z);
  const o = min.clone();
  line(o, new THREE.Vector3(max.x, o.y, o.z));
  line(o, new THREE.Vector3(o.x, max.y, o.z));
  line(o, new THREE.Vector3(o.x, o.y, max.z));

  // Grid on the floor (z = min.z) following the x and y ticks.
  const grid: number[] = [];
  const tickLen = scale * 0.015;
  const place = (axis: Axis, which: 'x' | 'y' | 'z') => {
    const lo = min[which];
    const hi = max[which];
    const ticks = axis.ticks ?? [];
    const labels = axisTickLabels(ticks);
    ticks.forEach((tick, i) => {
      const pos = axisPosition(tick, axis.min, axis.max, lo, hi);
      if (pos < lo - 1e-9 * scale || pos > hi + 1e-9 * scale) return;
      const p = o.clone();
      p[which] = pos;
      const label = labels[i]!;
      // Each label hangs off its tick on the side away from the chart (sprite.center).
      if (which === 'x') {
        line(p, p.clone().add(new THREE.Vector3(0, -tickLen, 0)));
        grid.push(pos, min.y, min.z, pos, max.y, min.z);
        group.add(textSprite(label, p.clone().add(new THREE.Vector3(0, -tickLen * 2, 0)), TICK_HEIGHT, '#e8e8e8', [0.5, 1]));
      } else if (which === 'y') {
        line(p, p.clone().add(new THREE.Vector3(-tickLen, 0, 0)));
        grid.push(min.x, pos, min.z, max.x, pos, min.z);
        group.add(textSprite(label, p.clone().add(new THREE.Vector3(-tickLen * 2, 0, 0)), TICK_HEIGHT, '#e8e8e8', [1, 0.5]));
      } else {
        line(p, p.clone().add(new THREE.Vector3(-tickLen, -tickLen, 0)));
        group.add(textSprite(label, p.clone().add(new THREE.Vector3(-tickLen * 2, -tickLen * 2, 0)), TICK_HEIGHT, '#e8e8e8', [1, 0.5]));
      }
    });
    const end = o.clone();
    end[which] = hi + scale * 0.06;
    group.add(textSprite(axisTitle(axis), end, TITLE_HEIGHT, '#ffd166', [0.5, 0.5], true));
  };
  place(axes.x, 'x');
  place(axes.y, 'y');
  place(axes.z, 'z');

  group.add(segments(lines, 0xdddddd, 0.9));
  group.add(segments(grid, 0x888888, 0.25));
  return group;
}

function segments(positions: number[], color: number, opacity: number): THREE.LineSegments {
  const geometry = new THREE.BufferGeometry();
  geometry.setAttribute('position', new THREE.Float32BufferAttribute(positions, 3));
  return new THREE.LineSegments(geometry, new THREE.LineBasicMaterial({ color, transparent: opacity < 1, opacity }));
}

/**
 * A camera-facing text label (canvas texture), so it reads in VR too: `height` is a share of
 * the view's height (constant on screen), drawn over the points with a dark outline so it
 * reads on any colour; `center` is the point of the label that sits at `position`.
 */
export function textSprite(text: string, position: THREE.Vector3, height: number, color = '#e8e8e8', center: [number, number] = [0.5, 0.5], bold = false): THREE.Sprite {
  const canvas = document.createElement('canvas');
  const ctx = canvas.getContext('2d');
  const px = 48;
  const font = `${bold ? '600 ' : ''}${px}px system-ui, sans-serif`;
  let width = 64;
  if (ctx) {
    ctx.font = font;
    width = Math.ceil(ctx.measureText(text).width) + 16;
  }
  canvas.width = width;
  canvas.height = px + 16;
  if (ctx) {
    ctx.font = font;
    ctx.textBaseline = 'middle';
    ctx.lineJoin = 'round';
    ctx.lineWidth = 8;
    ctx.strokeStyle = 'rgba(17, 19, 24, 0.9)';
    ctx.strokeText(text, 8, canvas.height / 2);
    ctx.fillStyle = color;
    ctx.fillText(text, 8, canvas.height / 2);
  }
  const texture = new THREE.CanvasTexture(canvas);
  texture.colorSpace = THREE.SRGBColorSpace;
  const material = new THREE.SpriteMaterial({ map: texture, transparent: true, depthTest: false, depthWrite: false, sizeAttenuation: false });
  const sprite = new THREE.Sprite(material);
  sprite.position.copy(position);
  sprite.center.set(center[0], center[1]);
  sprite.scale.set((height * canvas.width) / canvas.height, height, 1);
  sprite.renderOrder = 10; // over the points
  sprite.userData.label = text;
  return sprite;
}
