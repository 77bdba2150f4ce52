/**
 * WebXR: an immersive-vr session on a local-floor reference space (hand tracking optional), the
 * scene placed about 1 m in front of the user at a comfortable ~1 m size, select (pinch on Vision
 * Pro via transient-pointer, trigger elsewhere) picks, squeeze with one hand moves and with two
 * hands scales and moves. The A/X button finishes what the tool is placing and B/Y takes back
 * its last point (buttons 4 and 5 of the xr-standard gamepad; hands without buttons finish a
 * line by selecting its last point again, lib/measure.ts). The point budget follows the
 * headset's frame rate.
 */
import * as THREE from 'three';
import { debug } from '../debug';
import type { PickHit, ToolCommand, Viewer } from './viewer';

/** xr-standard gamepad buttons (A/X and B/Y on Quest and Pico controllers) and what they ask. */
const COMMAND_BUTTONS: readonly [number, ToolCommand][] = [[4, 'finish'], [5, 'undo']];

const SCENE_SIZE_M = 1.0;
const DISTANCE_M = 1.0;
const EYE_HEIGHT_M = 1.1;

export async function isVRSupported(): Promise<boolean> {
  const supported = !!navigator.xr && (await navigator.xr.isSessionSupported('immersive-vr').catch(() => false));
  debug.xr.supported = supported;
  return supported;
}

interface Saved {
  position: THREE.Vector3;
  quaternion: THREE.Quaternion;
  scale: THREE.Vector3;
  budget: number;
  target: number;
}

export class XRController {
  private session: XRSession | null = null;
  private saved: Saved | null = null;
  private controllers: THREE.XRTargetRaySpace[] = [];
  private grips: THREE.XRGripSpace[] = [];
  private squeezing = new Set<number>();
  /** Buttons held at the last frame, per input source, so a press counts once. */
  private held = new WeakMap<XRInputSource, Set<number>>();
  private grab: { matrix: THREE.Matrix4; distance: number; scale: number; mid: THREE.Vector3; rootPos: THREE.Vector3 } | null = null;

  constructor(
    private viewer: Viewer,
    private onState: (state: 'active' | 'ended') => void,
  ) {
    const xr = viewer.renderer.xr;
    for (let i = 0; i < 2; i++) {
      const controller = xr.getController(i);
      controller.addEventListener('select', () => viewer.pickController(controller));
      controller.addEventListener('connected', (event) => {
        controller.userData.handedness = (event as unknown as { data: XRInputSource }).data.handedness;
      });
      controller.addEventListener('squeezestart', () => this.squeezeStart(i));
      controller.addEventListener('squeezeend', () => this.squeezeEnd(i));
      controller.addEventListener('disconnected', () => this.squeezeEnd(i));
      viewer.scene.add(controller);
      this.controllers.push(controller);
      this.grips.push(xr.getControllerGrip(i));
      controller.add(rayLine());
    }
  }

  /** What the `hand` controller's select would pick now, without picking (the headset
   * tests aim with it before they pull the trigger). */
  aimedAt(hand: XRHandedness): PickHit | null {
    const controller = this.controllers.find((c) => c.userData.handedness === hand);
    return controller ? this.viewer.aimedAt(controller) : null;
  }

  get active(): boolean {
    return this.session !== null;
  }

  async enter(): Promise<void> {
    if (!navigator.xr) throw new Error('WebXR is not available in this browser.');
    debug.xr.session = 'starting';
    const session = await navigator.xr.requestSession('immersive-vr', {
      requiredFeatures: ['local-floor'],
      optionalFeatures: ['hand-tracking'],
    });
    const { renderer } = this.viewer;
    renderer.xr.setReferenceSpaceType('local-floor');
    await renderer.xr.setSession(session);
    this.session = session;
    debug.xr.session = 'active';
    debug.xr.mode = 'immersive-vr';
    this.place();
    session.addEventListener('end', () => this.exit());
    this.viewer.beforeRender = () => this.update();
    this.onState('active');
  }

  async leave(): Promise<void> {
    await this.session?.end();
  }

  /** Sizes the scene to about a metre and puts it a metre in front of the user. */
  private place(): void {
    const { root, bounds, budget, tiles } = this.viewer;
    this.saved = { position: root.position.clone(), quaternion: root.quaternion.clone(), scale: root.scale.clone(), budget: budget.budget, target: budget.options.targetFrameMs };
    const radius = Math.max(bounds.getSize(new THREE.Vector3()).length() / 2, 1e-9);
    root.scale.setScalar(SCENE_SIZE_M / 2 / radius);
    root.position.set(0, EYE_HEIGHT_M, -DISTANCE_M);
    root.quaternion.identity();
    // Headsets render two views at 90 Hz: start from a smaller budget and let it adapt.
    const rate = (this.session as XRSession & { frameRate?: number }).frameRate;
    (budget.options as { targetFrameMs: number }).targetFrameMs = 1000 / (rate && rate > 0 ? rate : 90);
    budget.reset(Math.min(budget.budget, 1_500_000));
    tiles.setCamera(this.viewer.renderer.xr.getCamera());
  }

  private exit(): void {
    const { root, budget, tiles, renderer, camera } = this.viewer;
    tiles.deleteCamera(renderer.xr.getCamera());
    tiles.setCamera(camera);
    if (this.saved) {
      root.position.copy(this.saved.position);
      root.quaternion.copy(this.saved.quaternion);
      root.scale.copy(this.saved.scale);
      (budget.options as { targetFrameMs: number }).targetFrameMs = this.saved.target;
      budget.reset(this.saved.budget);
    }
    this.session = null;
    this.viewer.beforeRender = null;
    this.squeezing.clear();
    this.grab = null;
    debug.xr.session = 'ended';
    this.onState('ended');
    window.dispatchEvent(new Event('resize'));
  }

  private update(): void {
    // Counted so tests (and the HUD) can tell the immersive session really renders frames.
    debug.xr.frames += 1;
    const { renderer, tiles } = this.viewer;
    const xrCamera = renderer.xr.getCamera();
    const left = xrCamera.cameras[0];
    if (left) tiles.setResolution(xrCamera, left.viewport.z, left.viewport.w);
    this.updateGrab();
    this.pollButtons();
  }

  /** Tells the tools of A/X and B/Y presses (three.js raises events for select and squeeze only). */
  private pollButtons(): void {
    for (const source of this.session?.inputSources ?? []) {
      const buttons = source.gamepad?.buttons;
      if (!buttons) continue;
      const held = this.held.get(source) ?? new Set<number>();
      this.held.set(source, held);
      for (const [index, command] of COMMAND_BUTTONS) {
        const pressed = !!buttons[index]?.pressed;
        if (pressed && !held.has(index)) this.viewer.commandListeners.forEach((listener) => listener(command));
        if (pressed) held.add(index);
        else held.delete(index);
      }
    }
  }

  private squeezeStart(i: number): void {
    this.squeezing.add(i);
    this.beginGrab();
  }

  private squeezeEnd(i: number): void {
    this.squeezing.delete(i);
    this.grab = null;
    if (this.squeezing.size) this.beginGrab();
  }

  private handPositions(): THREE.Vector3[] {
    return [...this.squeezing].map((i) => new THREE.Vector3().setFromMatrixPosition(this.controllers[i]!.matrixWorld));
  }

  private beginGrab(): void {
    const { root } = this.viewer;
    root.updateMatrixWorld();
    const hands = this.handPositions();
    if (hands.length === 1) {
      const controller = this.controllers[[...this.squeezing][0]!]!;
      const matrix = controller.matrixWorld.clone().invert().multiply(root.matrixWorld);
      this.grab = { matrix, distance: 0, scale: root.scale.x, mid: new THREE.Vector3(), rootPos: root.position.clone() };
    } else if (hands.length >= 2) {
      const mid = hands[0]!.clone().add(hands[1]!).multiplyScalar(0.5);
      this.grab = { matrix: new THREE.Matrix4(), distance: hands[0]!.distanceTo(hands[1]!), scale: root.scale.x, mid, rootPos: root.position.clone() };
    }
  }

  private updateGrab(): void {
    if (!this.grab) return;
    const { root } = this.viewer;
    const hands = this.handPositions();
    if (hands.length === 1) {
      const controller = this.controllers[[...this.squeezing][0]!]!;
      const m = controller.matrixWorld.clone().multiply(this.grab.matrix);
      m.decompose(root.position, root.quaternion, new THREE.Vector3());
    } else if (hands.length >= 2 && this.grab.distance > 1e-4) {
      const mid = hands[0]!.clone().add(hands[1]!).multiplyScalar(0.5);
      const factor = THREE.MathUtils.clamp(hands[0]!.distanceTo(hands[1]!) / this.grab.distance, 0.05, 20);
      root.scale.setScalar(this.grab.scale * factor);
      // Scale about the hands' midpoint and follow it as it moves.
      root.position.copy(this.grab.rootPos).sub(this.grab.mid).multiplyScalar(factor).add(mid);
    }
  }
}

function rayLine(): THREE.Line {
  const geometry = new THREE.BufferGeometry().setFromPoints([new THREE.Vector3(0, 0, 0), new THREE.Vector3(0, 0, -1)]);
  const line = new THREE.Line(geometry, new THREE.LineBasicMaterial({ color: 0xffffff, transparent: true, opacity: 0.5 }));
  line.scale.z = 2;
  return line;
}

/** ?xr-emulator=1: installs the IWER WebXR emulator (test and development only). */
export async function installEmulator(): Promise<void> {
  const { XRDevice, metaQuest3 } = await import('iwer');
  const device = new XRDevice(metaQuest3);
  // Browsers with a native navigator.xr (Chromium) need forceInstall to be emulated.
  device.installRuntime({ forceInstall: true });
  debug.xr.emulator = true;
  (window as unknown as { __spatialvizXRDevice: unknown }).__spatialvizXRDevice = device;
}
