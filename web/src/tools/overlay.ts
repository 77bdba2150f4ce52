/**
 * Draws measurements and the profile line in the measuring frame: points, lines (a polygon
 * closed), and a label with the value; drawn over the points (no depth test) so they stay
 * readable, and as sprites so they read in VR too.
 */
import * as THREE from 'three';
import { formatMeasure, measureValues, type Measurement, type P3 } from '../lib/measure';

const DONE = 0xffd166;
const ACTIVE = 0x4cc9f0;
const PROFILE = 0xff6b6b;

export class MeasureOverlay {
  readonly group = new THREE.Group();

  /** `parent` is in the tileset frame; `measureToTileset` places the measuring frame in it. */
  constructor(parent: THREE.Object3D, measureToTileset: THREE.Matrix4, private readonly size: () => number) {
    this.group.name = 'measurements';
    this.group.matrixAutoUpdate = false;
    this.group.matrix.copy(measureToTileset);
    this.group.renderOrder = 20;
    parent.add(this.group);
  }

  setFrame(measureToTileset: THREE.Matrix4): void {
    this.group.matrix.copy(measureToTileset);
    this.group.matrixWorldNeedsUpdate = true;
  }

  draw(measurements: readonly Measurement[], active: Measurement | null, profile: readonly P3[] | null): void {
    this.clear();
    for (const m of measurements) this.drawOne(m, DONE);
    if (active) this.drawOne(active, ACTIVE);
    if (profile && profile.length) this.drawLine(profile, PROFILE, false, null);
  }

  private drawOne(m: Measurement, color: number): void {
    const values = measureValues(m.kind, m.points);
    const label = values ? formatMeasure(values.value, values.unit) : null;
    this.drawLine(m.points, color, m.kind === 'area' && m.points.length >= 3, label, m.kind === 'angle' ? 1 : null);
  }

  private drawLine(points: readonly P3[], color: number, closed: boolean, label: string | null, labelAt: number | null = null): void {
    const size = this.size();
    const material = new THREE.MeshBasicMaterial({ color, depthTest: false, transparent: true });
    const sphere = new THREE.SphereGeometry(size * 0.5, 10, 6);
    for (const p of points) {
      const dot = new THREE.Mesh(sphere, material);
      dot.position.set(p[0], p[1], p[2]);
      dot.renderOrder = 21;
      this.group.add(dot);
    }
    if (points.length >= 2) {
      const vertices = points.map((p) => new THREE.Vector3(p[0], p[1], p[2]));
      if (closed) vertices.push(vertices[0]!.clone());
      const line = new THREE.Line(new THREE.BufferGeometry().setFromPoints(vertices), new THREE.LineBasicMaterial({ color, depthTest: false, transparent: true }));
      line.renderOrder = 21;
      this.group.add(line);
    }
    if (label && points.length) {
      const at = labelAt !== null ? points[labelAt]! : centroid(points);
      const sprite = labelSprite(label, size * 4);
      sprite.position.set(at[0], at[1], at[2] + size * 3);
      this.group.add(sprite);
    }
  }

  private clear(): void {
    for (const child of [...this.group.children]) {
      child.removeFromParent();
      child.traverse((o) => {
        const withGeometry = o as THREE.Mesh;
        withGeometry.geometry?.dispose();
        const material = withGeometry.material as THREE.Material | THREE.Material[] | undefined;
        for (const m of Array.isArray(material) ? material : material ? [material] : []) {
          (m as THREE.SpriteMaterial).map?.dispose();
          m.dispose();
        }
      });
    }
  }

  dispose(): void {
    this.clear();
    this.group.removeFromParent();
  }
}

function centroid(points: readonly P3[]): P3 {
  const n = points.length;
  const s = points.reduce<[number, number, number]>((a, p) => [a[0] + p[0], a[1] + p[1], a[2] + p[2]], [0, 0, 0]);
  return [s[0] / n, s[1] / n, s[2] / n];
}

/** A value on a dark rounded plate, facing the camera, drawn over everything (reads in VR too). */
function labelSprite(text: string, height: number): THREE.Sprite {
  const canvas = document.createElement('canvas');
  const ctx = canvas.getContext('2d');
  const px = 40;
  const font = `600 ${px}px system-ui, sans-serif`;
  let width = 200;
  if (ctx) {
    ctx.font = font;
    width = Math.ceil(ctx.measureText(text).width) + 24;
  }
  canvas.width = width;
  canvas.height = px + 20;
  if (ctx) {
    ctx.fillStyle = 'rgba(0, 0, 0, 0.72)';
    ctx.beginPath();
    ctx.roundRect(0, 0, canvas.width, canvas.height, 12);
    ctx.fill();
    ctx.font = font;
    ctx.fillStyle = '#ffffff';
    ctx.textBaseline = 'middle';
    ctx.fillText(text, 12, canvas.height / 2);
  }
  const texture = new THREE.CanvasTexture(canvas);
  texture.colorSpace = THREE.SRGBColorSpace;
  const sprite = new THREE.Sprite(new THREE.SpriteMaterial({ map: texture, transparent: true, depthTest: false, depthWrite: false }));
  sprite.scale.set((height * canvas.width) / canvas.height, height, 1);
  sprite.renderOrder = 22;
  sprite.userData.label = text;
  return sprite;
}
