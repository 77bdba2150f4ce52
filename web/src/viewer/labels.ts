/**
 * Annotation labels drawn in 3D: one sprite per note (a canvas texture), a constant size on
 * screen, always on top, so they read on desktop and in VR alike (DOM overlays do not show
 * in an immersive session).
 */
import * as THREE from 'three';

const FONT_PX = 28;

function labelTexture(text: string): { texture: THREE.CanvasTexture; aspect: number } {
  const canvas = document.createElement('canvas');
  const ctx = canvas.getContext('2d')!;
  ctx.font = `600 ${FONT_PX}px system-ui, sans-serif`;
  const width = Math.ceil(ctx.measureText(text).width) + 28;
  canvas.width = width;
  canvas.height = FONT_PX + 20;
  ctx.font = `600 ${FONT_PX}px system-ui, sans-serif`;
  ctx.fillStyle = 'rgba(17, 19, 24, 0.85)';
  ctx.strokeStyle = '#ffd166';
  ctx.lineWidth = 3;
  ctx.beginPath();
  ctx.roundRect(2, 2, width - 4, canvas.height - 4, 10);
  ctx.fill();
  ctx.stroke();
  ctx.fillStyle = '#ffffff';
  ctx.textBaseline = 'middle';
  ctx.fillText(text, 14, canvas.height / 2 + 1);
  const texture = new THREE.CanvasTexture(canvas);
  texture.colorSpace = THREE.SRGBColorSpace;
  return { texture, aspect: width / canvas.height };
}

export class AnnotationLabels {
  private readonly sprites = new Map<string, THREE.Object3D>();
  readonly group = new THREE.Group();

  /** `parent`: the group in the tileset frame (Viewer.offset). */
  constructor(parent: THREE.Object3D) {
    this.group.name = 'annotation-labels';
    parent.add(this.group);
  }

  /** Shows a label at `point` (tileset frame); the same id replaces the old one. */
  set(id: string, text: string, point: readonly [number, number, number]): void {
    this.remove(id);
    const { texture, aspect } = labelTexture(text);
    const material = new THREE.SpriteMaterial({ map: texture, depthTest: false, sizeAttenuation: false, transparent: true });
    const sprite = new THREE.Sprite(material);
    const height = 0.045; // of the view's height: constant on screen
    sprite.scale.set(height * aspect, height, 1);
    sprite.center.set(0, 0); // the label's corner sits on the point
    sprite.renderOrder = 20;
    const pin = new THREE.Mesh(new THREE.OctahedronGeometry(1), new THREE.MeshBasicMaterial({ color: 0xffd166, depthTest: false }));
    pin.renderOrder = 20;
    pin.userData.pin = true;
    const holder = new THREE.Group();
    holder.position.set(point[0], point[1], point[2]);
    holder.add(sprite, pin);
    holder.userData.annotationId = id;
    this.group.add(holder);
    this.sprites.set(id, holder);
  }

  /** The pins' size in the tileset frame (a fraction of the scene's size). */
  setPinSize(size: number): void {
    this.group.traverse((o) => {
      if (o.userData.pin) o.scale.setScalar(size);
    });
    this.pinSize = size;
  }

  private pinSize = 1;

  remove(id: string): void {
    const holder = this.sprites.get(id);
    if (!holder) return;
    holder.removeFromParent();
    holder.traverse((o) => {
      const mesh = o as THREE.Mesh;
      if (mesh.geometry) mesh.geometry.dispose();
      const material = (o as THREE.Sprite | THREE.Mesh).material as THREE.Material | undefined;
      if (material) {
        (material as THREE.SpriteMaterial).map?.dispose();
        material.dispose();
      }
    });
    this.sprites.delete(id);
  }

  ids(): string[] {
    return [...this.sprites.keys()];
  }

  get size(): number {
    return this.pinSize;
  }

  dispose(): void {
    for (const id of this.ids()) this.remove(id);
    this.group.removeFromParent();
  }
}
