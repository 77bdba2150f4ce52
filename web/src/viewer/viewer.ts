/**
 * The scene viewer: three.js + 3d-tiles-renderer streaming a 3D Tiles 1.1 point tileset by
 * screen-space error, under a point budget and a tile memory cap, with client-side recolouring,
 * picking, a query box, chart axes and WebXR.
 *
 * Frames: tileset coordinates (z-up, after tile transforms) live in `offset`, which is shifted
 * by minus the tileset's centre (so big geo coordinates do not lose float precision) and sits in
 * `content`, rotated to three.js' y-up. `root` is what VR scales and moves.
 */
import * as THREE from 'three';
import { OrbitControls } from 'three/addons/controls/OrbitControls.js';
import { FlyControls } from 'three/addons/controls/FlyControls.js';
import { LRUCache, type Tile } from '3d-tiles-renderer/core';
import { TilesRenderer } from '3d-tiles-renderer/three';
import { GLTFExtensionsPlugin } from '3d-tiles-renderer/plugins';
import { MeshoptDecoder } from 'three/addons/libs/meshopt_decoder.module.js';
import { DRACOLoader } from 'three/addons/loaders/DRACOLoader.js';
import { AdaptiveBudget, FINEST_ERROR_TARGET, nextErrorTarget, POINT_BUDGET } from '../lib/budget';
import { signedUrl, signingPlugin } from '../lib/signing';
import { SidecarCache } from './sidecars';
import { tileColorSpace } from '../lib/colorspace';
import { ROW_ID, threeAttributeName } from '../lib/attributes';
import { columnAsFloat32, exactRowId, type PropertyTableLike } from '../lib/properties';
import type { Scene, SceneAttribute } from '../lib/types';
import { countCodes, shownCount } from '../lib/attributekinds';
import { boxAxisRange, datasetOffset, positionAxis, positionValues, sceneCenter, type TilesetExtras, type Vec3 } from '../lib/sceneframe';
import { debug } from '../debug';
import { PointMaterial, type PointStyle } from './material';
import { buildAxes } from './axes';
import { aimPick, rayPick, type RayHit } from './raypick';
import { aimTangent, ORBIT_STEP, PAN_FRACTION, ZOOM_FACTOR, type ViewMove } from '../lib/keynav';

export interface ViewerOptions {
  pointBudget?: number;
  maxBudget?: number;
  memoryMB?: number;
  errorTarget?: number;
  onPick?: (pick: PickHit | null) => void;
  /** `budget`: the budget in effect; `ceiling`: the one the user chose (or the starting one). */
  onStatus?: (status: { tiles: number; points: number; budget: number; ceiling: number; loading: boolean }) => void;
}

export interface PickHit {
  rowId: number | null;
  /** the picked point's own position, in tileset coordinates */
  point: THREE.Vector3;
  /** attributes read from the tile itself (metadata tables), if any */
  tileRow: Record<string, unknown> | null;
}

export type Navigation = 'orbit' | 'fly';

/** What a controller button asks of the tool being used: end it, or take back its last point. */
export type ToolCommand = 'finish' | 'undo';

export class Viewer {
  readonly renderer: THREE.WebGLRenderer;
  readonly camera: THREE.PerspectiveCamera;
  readonly scene = new THREE.Scene();
  readonly root = new THREE.Group();
  readonly content = new THREE.Group();
  readonly offset = new THREE.Group();
  readonly tiles: TilesRenderer;
  readonly material = new PointMaterial();
  readonly budget: AdaptiveBudget;
  readonly bounds = new THREE.Box3();
  private orbit: OrbitControls;
  private fly: FlyControls;
  private navigation: Navigation = 'orbit';
  private clock = new THREE.Timer();
  private pointsByTile = new Map<Tile, THREE.Points[]>();
  private visiblePoints = 0;
  private visibleTiles = new Set<Tile>();
  private hiddenCodes: ReadonlySet<number> = new Set();
  /** Points drawn after hiding categories; null when it must be counted again. */
  private shown: number | null = null;
  private colorAttribute: string | null = null;
  private style: PointStyle = { mode: 'rgb', colormap: 'viridis', min: 0, max: 1, size: 2 };
  private raycaster = new THREE.Raycaster();
  private marker: THREE.Mesh;
  private boxHelper: THREE.Box3Helper | null = null;
  private axes: THREE.Object3D | null = null;
  private resizeObserver: ResizeObserver;
  private lastFrame = performance.now();
  private framed = false;
  private pickThreshold = 0.01;
  private disposed = false;
  private readonly draco: DRACOLoader;
  /** Columns the tiles leave to their sidecars (tileset.json extras.spatialviz.properties.sidecar). */
  private sidecarColumns = new Set<string>();
  private readonly sidecars: SidecarCache;
  private tileOfPoints = new WeakMap<THREE.Points, Tile>();
  /**
   * What turns tileset coordinates into the query API's dataset frame (lib/sceneframe.ts):
   * undefined until the root tileset has loaded, null where no shift does it.
   */
  queryOffset: Vec3 | null | undefined = undefined;
  /** Tile coordinates + this = the scene frame of box queries (undefined until the root tileset has loaded). */
  sceneCenter: Vec3 | undefined = undefined;
  private rootBox: number[] | null = null;
  /**
   * How to read x, y, z from positions (they are no property-table column): the root's
   * inverse transform (georeferenced tiles: ECEF → east-north-up) and its bounding box.
   * null for chart scenes, whose positions are the chart's, not the dataset's x/y/z.
   */
  private positionFrame: { rootInverse: THREE.Matrix4 | null; box: number[] | null } | null = null;
  private colorAttributeInfo: SceneAttribute | null = null;

  constructor(
    readonly container: HTMLElement,
    readonly sceneInfo: Scene,
    readonly options: ViewerOptions = {},
  ) {
    const url = sceneInfo.tileset_url;
    if (!url) throw new Error('This scene has no tileset yet.');
    this.renderer = new THREE.WebGLRenderer({ antialias: false, powerPreference: 'high-performance' });
    this.renderer.setPixelRatio(Math.min(window.devicePixelRatio, 2));
    this.renderer.setClearColor(0x111318);
    this.renderer.xr.enabled = true;
    this.renderer.domElement.setAttribute('data-testid', 'viewer-canvas');
    this.renderer.domElement.setAttribute('aria-label', 'Scene view');
    this.renderer.domElement.tabIndex = 0;
    container.appendChild(this.renderer.domElement);

    this.camera = new THREE.PerspectiveCamera(60, 1, 0.01, 1e7);
    this.camera.position.set(0, 2, 5);
    this.scene.add(this.root);
    this.root.add(this.content);
    this.content.rotation.x = -Math.PI / 2; // 3D Tiles are z-up
    this.content.add(this.offset);

    this.budget = new AdaptiveBudget({
      min: 100_000,
      max: options.maxBudget ?? POINT_BUDGET.max,
      initial: options.pointBudget ?? POINT_BUDGET.initial,
      targetFrameMs: 1000 / 60,
    });
    // The starting budget is the slider's starting value, and like a chosen one a ceiling:
    // the budget the page shows is never above the one its slider shows.
    this.budget.choose(options.pointBudget ?? POINT_BUDGET.initial);
    debug.pointBudget = this.budget.budget;

    this.tiles = new TilesRenderer(url);
    this.tiles.registerPlugin(signingPlugin(url, location.href));
    this.sidecars = new SidecarCache((u) => signedUrl(u, url, location.href), (tile) => this.onSidecar(tile));
    // Decoders for tilesets tiled with compression "meshopt" (EXT_meshopt_compression) and
    // "draco" (KHR_draco_mesh_compression). The Draco decoder (WebAssembly, served from our
    // own assets: the build emits the files three.js points at) loads with the first such tile.
    this.draco = new DRACOLoader();
    this.tiles.registerPlugin(
      new GLTFExtensionsPlugin({ metadata: true, meshoptDecoder: MeshoptDecoder, dracoLoader: this.draco }),
    );
    // A cache of our own (the default one is shared by every renderer on the page), keeping
    // the renderer's unload order.
    const cache = new LRUCache();
    cache.unloadPriorityCallback = this.tiles.lruCache.unloadPriorityCallback;
    const bytes = (options.memoryMB ?? 512) * 1024 * 1024;
    cache.maxBytesSize = bytes;
    cache.minBytesSize = bytes * 0.75;
    cache.maxSize = 4000;
    cache.minSize = 600;
    this.tiles.lruCache = cache;
    this.tiles.errorTarget = options.errorTarget ?? FINEST_ERROR_TARGET;
    this.tiles.setCamera(this.camera);
    this.offset.add(this.tiles.group);
    this.tiles.addEventListener('load-root-tileset', ({ tileset }) => {
      this.material.setTileColorSpace(tileColorSpace(tileset));
      const root = tileset as { extras?: { spatialviz?: TilesetExtras }; root?: { transform?: number[]; boundingVolume?: { box?: number[] } } };
      const frame = sceneInfo.frame;
      this.queryOffset = datasetOffset(frame, root.extras?.spatialviz, !!root.root?.transform);
      this.sceneCenter = sceneCenter(root.extras?.spatialviz);
      this.rootBox = root.root?.boundingVolume?.box ?? null;
      const extras = root.extras?.spatialviz as { properties?: { sidecar?: unknown } } | undefined;
      const inSidecars = extras?.properties?.sidecar;
      this.sidecarColumns = new Set(Array.isArray(inSidecars) ? inSidecars.filter((c): c is string => typeof c === 'string') : []);
      this.positionFrame = frame === 'chart' ? null : {
        rootInverse: root.root?.transform ? new THREE.Matrix4().fromArray(root.root.transform).invert() : null,
        box: root.root?.boundingVolume?.box ?? null,
      };
      if (positionAxis(this.colorAttribute) !== null) this.setColorBy(this.colorAttributeInfo);
    });
    this.tiles.addEventListener('load-model', ({ scene, tile }) => this.onLoadModel(scene, tile));
    this.tiles.addEventListener('dispose-model', ({ tile }) => this.onDisposeModel(tile));
    this.tiles.addEventListener('tile-visibility-change', ({ tile, visible }) => {
      const n = this.countPoints(tile);
      this.visiblePoints += visible ? n : -n;
      if (visible) this.visibleTiles.add(tile);
      else this.visibleTiles.delete(tile);
      this.shown = null;
    });
    this.tiles.addEventListener('load-error', ({ error, url: failed }) => {
      debug.errors.push(`tile ${String(failed)}: ${error.message}`);
    });

    this.marker = new THREE.Mesh(new THREE.SphereGeometry(1, 12, 8), new THREE.MeshBasicMaterial({ color: 0xff3366, depthTest: false }));
    this.marker.visible = false;
    this.marker.renderOrder = 10;
    this.offset.add(this.marker);

    this.orbit = new OrbitControls(this.camera, this.renderer.domElement);
    this.orbit.enableDamping = true;
    this.fly = new FlyControls(this.camera, this.renderer.domElement);
    this.fly.dragToLook = true;
    this.fly.enabled = false;

    this.resizeObserver = new ResizeObserver(() => this.resize());
    this.resizeObserver.observe(container);
    this.resize();
    this.renderer.setAnimationLoop((t, frame) => this.frame(t, frame));
  }

  private resize(): void {
    const w = Math.max(1, this.container.clientWidth);
    const h = Math.max(1, this.container.clientHeight);
    if (this.renderer.xr.isPresenting) return;
    this.renderer.setSize(w, h);
    this.camera.aspect = w / h;
    this.camera.updateProjectionMatrix();
    this.tiles.setResolutionFromRenderer(this.camera, this.renderer);
  }

  private onLoadModel(object: THREE.Object3D, tile: Tile): void {
    const points: THREE.Points[] = [];
    object.traverse((child) => {
      if ((child as THREE.Points).isPoints) {
        const p = child as THREE.Points;
        const old = p.material as THREE.Material;
        p.material = this.material;
        if (old !== this.material) old.dispose();
        this.tileOfPoints.set(p, tile);
        this.applyColorAttribute(p);
        points.push(p);
      }
    });
    this.pointsByTile.set(tile, points);
    this.shown = null;
    debug.tilesLoaded = this.pointsByTile.size;
  }

  private onDisposeModel(tile: Tile): void {
    this.pointsByTile.delete(tile);
    this.sidecars.drop(tile);
    this.shown = null;
    debug.tilesLoaded = this.pointsByTile.size;
  }

  private countPoints(tile: Tile): number {
    let n = 0;
    for (const p of this.pointsByTile.get(tile) ?? []) n += p.geometry.getAttribute('position')?.count ?? 0;
    return n;
  }

  private applyColorAttribute(p: THREE.Points): void {
    const geometry = p.geometry;
    const attr = this.colorAttribute ? this.valueAttribute(p, this.colorAttribute) : null;
    if (attr) geometry.setAttribute('aValue', attr);
    else geometry.deleteAttribute('aValue');
  }

  /**
   * One float per point of `column`: built once per tile from its property table (our
   * tiles carry no per-point vertex attribute besides position and colour), or the
   * "_<column>" vertex attribute of tilesets written before.
   */
  private valueAttribute(p: THREE.Points, column: string): THREE.BufferAttribute | null {
    const userData = p.userData as { valueAttributes?: Map<string, THREE.BufferAttribute | null> };
    const cache = (userData.valueAttributes ??= new Map<string, THREE.BufferAttribute | null>());
    if (cache.has(column)) return cache.get(column) ?? null;
    const legacy = p.geometry.getAttribute(threeAttributeName(column));
    let attr: THREE.BufferAttribute | null = legacy instanceof THREE.BufferAttribute ? legacy : null;
    const axis = positionAxis(column);
    if (!attr && axis !== null && this.positionFrame) {
      const position = p.geometry.getAttribute('position');
      if (!position) return null; // nothing cached: positions may still arrive
      attr = new THREE.BufferAttribute(positionValues(position, this.toContentFrame(p).elements, axis), 1);
      cache.set(column, attr);
      return attr;
    }
    const table = this.propertyTable(p);
    const points = p.geometry.getAttribute('position')?.count ?? 0;
    if (!attr && table) {
      const values = columnAsFloat32(table.accessor, column, points, table.rows ?? undefined);
      attr = values ? new THREE.BufferAttribute(values, 1) : null;
    }
    const tile = this.tileOfPoints.get(p);
    if (!attr && tile && this.sidecarColumns.has(column) && this.sidecars.has(tile)) {
      // A column the tile leaves to its sidecar (same rows as the tile's table).
      const side = this.sidecars.table(tile);
      if (!side) return null; // on its way (onSidecar asks again) or failed: nothing cached
      const values = columnAsFloat32(side, column, points, table?.rows ?? undefined);
      attr = values ? new THREE.BufferAttribute(values, 1) : null;
    }
    cache.set(column, attr);
    return attr;
  }

  /** A tile's sidecar arrived: its points can now be coloured by the sidecar's columns. */
  private onSidecar(tile: Tile): void {
    const points = this.pointsByTile.get(tile);
    if (!points) return;
    points.forEach((p) => this.applyColorAttribute(p));
    this.shown = null;
  }

  /** The points' object → the tileset's content frame (the tiles' own frame, before the root transform). */
  private toContentFrame(p: THREE.Object3D): THREE.Matrix4 {
    const m = new THREE.Matrix4();
    for (let o: THREE.Object3D | null = p; o && o !== this.tiles.group; o = o.parent) {
      o.updateMatrix();
      m.premultiply(o.matrix);
    }
    const inverse = this.positionFrame?.rootInverse;
    if (inverse) m.premultiply(inverse);
    return m;
  }

  /** The tile frame's range along x, y or z (what colouring by position spans), if known. */
  private positionRange(column: string): [number, number] | null {
    const axis = positionAxis(column);
    const box = this.positionFrame?.box;
    return axis !== null && box && box.length === 12 ? boxAxisRange(box, axis) : null;
  }

  /** The tile's property table and, when feature ids are a vertex attribute, each point's row. */
  private propertyTable(p: THREE.Points): { accessor: PropertyTableLike; rows: ArrayLike<number> | null } | null {
    const features = p.userData.meshFeatures as
      | { getFeatureInfo(): { propertyTable?: number | null; attribute?: number | null }[] }
      | undefined;
    const metadata = p.userData.structuralMetadata as { tableAccessors?: PropertyTableLike[] } | undefined;
    const info = features?.getFeatureInfo()[0];
    const accessor = info?.propertyTable != null ? metadata?.tableAccessors?.[info.propertyTable] : undefined;
    if (!info || !accessor) return null;
    const ids = info.attribute != null ? p.geometry.getAttribute(`_feature_id_${info.attribute}`) : null;
    return { accessor, rows: ids ? ids.array : null };
  }

  /** Colours by a per-point attribute (null: the tiles' own colours). No re-tiling. */
  setColorBy(attribute: SceneAttribute | null, colormap = this.style.colormap): void {
    this.colorAttribute = attribute?.name ?? null;
    this.colorAttributeInfo = attribute;
    debug.colorBy = this.colorAttribute;
    // x, y, z values come from the tile frame (dataset minus centre, or east-north-up
    // metres): their range is the root box's, in that frame.
    const range = attribute && this.positionFrame ? this.positionRange(attribute.name) : null;
    this.style = {
      ...this.style,
      colormap,
      mode: attribute ? attribute.kind : 'rgb',
      min: range?.[0] ?? attribute?.min ?? 0,
      max: range?.[1] ?? attribute?.max ?? 1,
    };
    this.material.setStyle(this.style);
    this.shown = null;
    this.pointsByTile.forEach((list) => list.forEach((p) => this.applyColorAttribute(p)));
  }

  /** Hides the points of these category codes (categorical colouring). */
  setHiddenCodes(codes: ReadonlySet<number>): void {
    this.material.setHiddenCodes(codes);
    this.hiddenCodes = new Set(codes);
    this.shown = null;
  }

  /** Points drawn right now: those of the visible tiles, less the hidden categories'. */
  private pointsShown(): number {
    const column = this.colorAttribute;
    if (!column || this.hiddenCodes.size === 0 || this.style.mode !== 'categorical') return this.visiblePoints;
    if (this.shown === null) {
      const clouds: { size: number; codes: ArrayLike<number> | null }[] = [];
      this.visibleTiles.forEach((tile) => (this.pointsByTile.get(tile) ?? []).forEach((p) => {
        clouds.push({ size: p.geometry.getAttribute('position')?.count ?? 0, codes: this.valueAttribute(p, column)?.array ?? null });
      }));
      this.shown = shownCount(clouds, this.hiddenCodes);
    }
    return this.shown;
  }

  /** Sets the continuous colour range (in the attribute's values). */
  setColorRange(min: number, max: number): void {
    const info = this.colorAttributeInfo;
    // x, y, z are coloured in the tile frame: shift the range as their values are.
    const range = info ? this.positionRange(info.name) : null;
    const shiftBy = range && info && this.positionFrame ? range[0] - info.min : 0;
    this.style = { ...this.style, min: min + shiftBy, max: max + shiftBy };
    this.material.setStyle(this.style);
  }

  /** Per-code counts of the current categorical attribute over the loaded tiles. */
  categoryCounts(): Map<number, number> {
    const column = this.colorAttribute;
    const arrays: ArrayLike<number>[] = [];
    if (column) {
      this.pointsByTile.forEach((list) => list.forEach((p) => {
        const attr = this.valueAttribute(p, column);
        if (attr) arrays.push(attr.array);
      }));
    }
    return countCodes(arrays);
  }

  setPointSize(px: number): void {
    this.style = { ...this.style, size: px };
    this.material.setStyle(this.style);
  }

  /** The user's point budget: the adaptive budget starts there and never rises above it. */
  setPointBudget(points: number): void {
    this.budget.choose(points);
  }

  setNavigation(mode: Navigation): void {
    this.navigation = mode;
    this.orbit.enabled = mode === 'orbit';
    this.fly.enabled = mode === 'fly';
    if (mode === 'orbit') {
      // Orbit around what is in front of the camera.
      const dir = new THREE.Vector3();
      this.camera.getWorldDirection(dir);
      const distance = this.camera.position.distanceTo(this.orbit.target) || 1;
      this.orbit.target.copy(this.camera.position).addScaledVector(dir, distance);
    }
  }

  /** Tileset-frame bounds are known once the root tileset has loaded. */
  private frameBounds(): boolean {
    const box = new THREE.Box3();
    if (!this.tiles.getBoundingBox(box) || box.isEmpty()) return false;
    // getBoundingBox answers in the tiles group's local frame: the tileset frame.
    const center = box.getCenter(new THREE.Vector3());
    this.offset.position.copy(center).multiplyScalar(-1);
    this.bounds.copy(box);
    this.scene.updateMatrixWorld(true);
    const size = box.getSize(new THREE.Vector3());
    const radius = Math.max(size.length() / 2, 1e-6);
    this.marker.scale.setScalar(radius * 0.01);
    this.pickThreshold = radius * 0.004;
    this.camera.near = radius / 1000;
    this.camera.far = radius * 100;
    this.camera.position.set(radius * 1.2, radius * 0.9, radius * 1.6);
    this.camera.updateProjectionMatrix();
    this.orbit.target.set(0, 0, 0);
    this.orbit.update();
    this.fly.movementSpeed = radius * 0.4;
    this.fly.rollSpeed = 0.6;
    if (this.sceneInfo.axes) {
      this.axes = buildAxes(this.sceneInfo.axes, box);
      this.offset.add(this.axes);
      const labels: string[] = [];
      this.axes.traverse((o) => {
        if (typeof o.userData.label === 'string') labels.push(o.userData.label);
      });
      debug.axisLabels = labels;
    }
    return true;
  }

  private frame(time: number, xrFrame?: XRFrame): void {
    if (this.disposed) return;
    const now = performance.now();
    const frameMs = now - this.lastFrame;
    this.lastFrame = now;
    if (!this.framed && this.tiles.root) this.framed = this.frameBounds();
    this.clock.update(time);
    const delta = this.clock.getDelta();
    if (!xrFrame) {
      if (this.navigation === 'orbit') this.orbit.update();
      else this.fly.update(delta);
    }
    // Frames are judged only when the page is visible (a hidden tab reports huge gaps).
    if (document.visibilityState === 'visible') this.budget.update(frameMs);
    this.tiles.errorTarget = nextErrorTarget(this.tiles.errorTarget, this.visiblePoints, this.budget.budget);
    this.beforeRender?.(time, xrFrame);
    this.frameHooks.forEach((hook) => hook(frameMs));
    this.camera.updateMatrixWorld();
    this.tiles.update();
    // A post-process (eye-dome lighting, viewer/edl.ts) draws the frame itself; not in XR,
    // where the headset's layers need the plain path.
    if (this.renderPass && !this.renderer.xr.isPresenting) this.renderPass(this.renderer, this.scene, this.camera);
    else this.renderer.render(this.scene, this.camera);
    const shown = this.pointsShown();
    debug.pointsDrawn = shown;
    debug.pointBudget = this.budget.budget;
    debug.errorTarget = this.tiles.errorTarget;
    debug.tilesLoading = this.tiles.loadProgress < 1;
    this.options.onStatus?.({ tiles: this.pointsByTile.size, points: shown, budget: this.budget.budget, ceiling: this.budget.ceiling, loading: this.tiles.loadProgress < 1 });
  }

  /** Hook for the XR controller (runs before tiles.update each frame). */
  beforeRender: ((time: number, frame?: XRFrame) => void) | null = null;
  /** Per-frame work of tools (fly-to, adaptive point size), given the last frame's ms. */
  readonly frameHooks = new Set<(frameMs: number) => void>();
  /** Draws the frame instead of a plain render, when set (viewer/edl.ts). */
  renderPass: ((renderer: THREE.WebGLRenderer, scene: THREE.Scene, camera: THREE.PerspectiveCamera) => void) | null = null;
  /** Told of controller commands that are not picks (viewer/xr.ts: the A/X and B/Y buttons). */
  readonly commandListeners = new Set<(command: ToolCommand) => void>();
  /** Told of every pick (click or XR select), after options.onPick. */
  readonly pickListeners = new Set<(hit: PickHit | null) => void>();

  /** Where orbiting turns around (bookmarks save it with the camera). */
  get viewTarget(): THREE.Vector3 {
    return this.orbit.target;
  }

  /** Puts the camera at `position` looking at `target` (world frame), orbiting around it. */
  setView(position: THREE.Vector3, target: THREE.Vector3): void {
    this.camera.position.copy(position);
    this.orbit.target.copy(target);
    this.camera.lookAt(target);
    if (this.navigation === 'orbit') this.orbit.update();
  }

  /** A pick without side effects (no marker, no listeners): hover tooltips. */
  peekClient(clientX: number, clientY: number): PickHit | null {
    const rect = this.renderer.domElement.getBoundingClientRect();
    this.raycaster.setFromCamera(new THREE.Vector2(((clientX - rect.left) / rect.width) * 2 - 1, -((clientY - rect.top) / rect.height) * 2 + 1), this.camera);
    const hit = rayPick(this.raycaster, this.tiles.group, this.pickThreshold * this.root.scale.x);
    return hit ? this.hitToPick(hit) : null;
  }

  /** Raycasts from normalised device coordinates (desktop clicks). */
  pickNdc(x: number, y: number): PickHit | null {
    this.raycaster.setFromCamera(new THREE.Vector2(x, y), this.camera);
    return this.pickRay();
  }

  pickClient(clientX: number, clientY: number): PickHit | null {
    const rect = this.renderer.domElement.getBoundingClientRect();
    return this.pickNdc(((clientX - rect.left) / rect.width) * 2 - 1, -((clientY - rect.top) / rect.height) * 2 + 1);
  }

  /**
   * The drawn point nearest the view's centre within `radiusPx` CSS pixels (the keyboard's
   * crosshair). `commit`: a pick like a click (marker, listeners); otherwise only a look.
   */
  aimCentre(radiusPx: number, commit: boolean): PickHit | null {
    this.camera.updateMatrixWorld();
    this.raycaster.setFromCamera(new THREE.Vector2(0, 0), this.camera);
    const height = this.renderer.domElement.clientHeight || this.container.clientHeight;
    const tangent = aimTangent(radiusPx, height, this.camera.fov);
    // As far as the far side of the scene (world units: VR scales the root).
    const centre = this.root.localToWorld(new THREE.Vector3());
    const reach = this.camera.position.distanceTo(centre) + this.bounds.getSize(new THREE.Vector3()).length() * this.root.scale.x;
    const hit = aimPick(this.raycaster, this.tiles.group, tangent, reach);
    const result = hit ? this.hitToPick(hit) : null;
    if (commit) this.announcePick(result);
    return result;
  }

  /** Moves the view by a key press (the keyboard's crosshair): pans, turns around what it looks at, or zooms. */
  nudgeView(move: ViewMove): void {
    const target = this.orbit.target;
    const offset = this.camera.position.clone().sub(target);
    const distance = Math.max(offset.length(), 1e-9);
    if (move.kind === 'pan') {
      this.camera.updateMatrixWorld();
      const right = new THREE.Vector3().setFromMatrixColumn(this.camera.matrixWorld, 0);
      const up = new THREE.Vector3().setFromMatrixColumn(this.camera.matrixWorld, 1);
      const shift = right.multiplyScalar(move.dx).add(up.multiplyScalar(move.dy)).multiplyScalar(distance * PAN_FRACTION);
      this.setView(this.camera.position.clone().add(shift), target.clone().add(shift));
      return;
    }
    if (move.kind === 'zoom') {
      offset.multiplyScalar(ZOOM_FACTOR ** move.steps);
    } else {
      const spherical = new THREE.Spherical().setFromVector3(offset);
      spherical.theta -= move.dx * ORBIT_STEP;
      spherical.phi = THREE.MathUtils.clamp(spherical.phi - move.dy * ORBIT_STEP, 0.01, Math.PI - 0.01);
      offset.setFromSpherical(spherical);
    }
    this.setView(target.clone().add(offset), target.clone());
  }

  /** Raycasts along an XR controller's target ray. */
  pickController(controller: THREE.Object3D): PickHit | null {
    this.raycaster.setFromXRController(controller as THREE.XRTargetRaySpace);
    return this.pickRay();
  }

  /** What a select of `controller` would pick now, without picking it (nothing is marked
   * or told): a drawn point under its ray, or null. */
  aimedAt(controller: THREE.Object3D): PickHit | null {
    this.raycaster.setFromXRController(controller as THREE.XRTargetRaySpace);
    return this.rayHit();
  }

  private pickRay(): PickHit | null {
    const result = this.rayHit();
    this.announcePick(result);
    return result;
  }

  private rayHit(): PickHit | null {
    // The threshold is in world units: follow how VR (or a squeeze) scaled the root.
    const hit = rayPick(this.raycaster, this.tiles.group, this.pickThreshold * this.root.scale.x);
    return hit ? this.hitToPick(hit) : null;
  }

  /** Marks a pick and tells whoever listens (clicks, XR selects, the keyboard's crosshair alike). */
  private announcePick(result: PickHit | null): void {
    if (result) {
      this.marker.position.copy(result.point); // offset shares the tileset frame with tiles.group
      this.marker.visible = true;
    }
    this.options.onPick?.(result);
    this.pickListeners.forEach((listener) => listener(result));
  }

  private hitToPick({ object: points, index, world }: RayHit): PickHit {
    // The point itself (the hit's own point is the nearest spot on the ray, up to the pick
    // threshold away): the marker sits on it and callers can read its coordinates.
    const tilesetPoint = this.toTileset(world);
    let rowId: number | null = null;
    let tileRow: Record<string, unknown> | null = null;
    const features = points.userData.meshFeatures as
      | { getFeatureInfo(): { propertyTable?: number | null; attribute?: number | null }[] }
      | undefined;
    const metadata = points.userData.structuralMetadata as
      | { getPropertyTableData(tables: (number | null)[], ids: number[]): Record<string, unknown>[] }
      | undefined;
    if (features && metadata) {
      const info = features.getFeatureInfo();
      const tables: (number | null)[] = [];
      const ids: number[] = [];
      info.forEach((f, i) => {
        const attr = points.geometry.getAttribute(`_feature_id_${f.attribute ?? i}`);
        tables.push(f.propertyTable ?? null);
        ids.push(attr ? Math.round(attr.getX(index)) : index);
      });
      try {
        const rows = metadata.getPropertyTableData(tables, ids);
        tileRow = Object.assign({}, ...rows.filter(Boolean)) as Record<string, unknown>;
        // The table's row id is exact for any cloud size (UINT32/INT64, read as number or
        // bigint); a float vertex attribute is not past 2^24.
        rowId = exactRowId(tileRow?.[ROW_ID]);
      } catch {
        tileRow = null;
      }
    }
    if (rowId === null) {
      // Tilesets written before the row id lived only in the table.
      const rowAttr = points.geometry.getAttribute(threeAttributeName(ROW_ID));
      rowId = rowAttr ? Math.round(rowAttr.getX(index)) : null;
    }
    return { rowId, point: tilesetPoint, tileRow };
  }

  /**
   * Tileset → measuring frame (metres, z up): the root's inverse transform for a georeferenced
   * scene (ECEF → east-north-up), the identity otherwise. For the tools (tools/).
   */
  get tilesetToMeasure(): THREE.Matrix4 {
    return this.positionFrame?.rootInverse?.clone() ?? new THREE.Matrix4();
  }

  /** The root bounding volume's extent in the measuring frame (its own frame, before the root transform), once known. */
  get measureBox(): { min: Vec3; max: Vec3 } | null {
    const box = this.positionFrame?.box;
    if (!box || box.length !== 12) return null;
    const [x, y, z] = ([0, 1, 2] as const).map((axis) => boxAxisRange(box, axis));
    return { min: [x![0], y![0], z![0]], max: [x![1], y![1], z![1]] };
  }

  /** The root bounding volume's extent in tile coordinates (every kind of scene, charts included), once known. */
  get tileExtent(): { min: Vec3; max: Vec3 } | null {
    const box = this.rootBox;
    if (!box || box.length !== 12) return null;
    const [x, y, z] = ([0, 1, 2] as const).map((axis) => boxAxisRange(box, axis));
    return { min: [x![0], y![0], z![0]], max: [x![1], y![1], z![1]] };
  }

  /** World → tileset coordinates. */
  toTileset(world: THREE.Vector3): THREE.Vector3 {
    return this.tiles.group.worldToLocal(world.clone());
  }

  /**
   * Shows (or hides, with null) the query box, given in tile coordinates (the measuring
   * frame: before a georeferenced tileset's root transform, so the box stands upright).
   */
  showBox(box: THREE.Box3 | null): void {
    if (this.boxHelper) {
      this.boxHelper.parent?.removeFromParent();
      this.boxHelper.dispose();
      this.boxHelper = null;
    }
    if (!box) return;
    this.boxHelper = new THREE.Box3Helper(box.clone(), 0xffd166);
    const frame = new THREE.Group();
    frame.matrixAutoUpdate = false;
    frame.matrix.copy(this.tilesetToMeasure).invert(); // tile coordinates → tileset frame
    frame.add(this.boxHelper);
    this.offset.add(frame); // offset shares the tileset frame with tiles.group
  }

  get pointsDrawn(): number {
    return this.pointsShown();
  }

  dispose(): void {
    this.disposed = true;
    this.renderer.setAnimationLoop(null);
    this.frameHooks.clear();
    this.pickListeners.clear();
    this.commandListeners.clear();
    this.renderPass = null;
    this.resizeObserver.disconnect();
    this.orbit.dispose();
    this.fly.dispose();
    this.tiles.dispose();
    this.sidecars.clear();
    this.draco.dispose(); // its decoder workers
    this.material.dispose();
    this.renderer.dispose();
    this.renderer.domElement.remove();
  }
}
