/**
 * Eye-dome lighting: a screen-space shading of point clouds from depth alone (no normals),
 * as LiDAR viewers do. The frame is drawn into a target with a depth texture; a full-screen
 * pass then darkens each pixel by how much nearer it is than its neighbours (log depth), so
 * edges and relief read without colour.
 */
import * as THREE from 'three';

const VERTEX = /* glsl */ `
varying vec2 vUv;
void main() {
  vUv = uv;
  gl_Position = vec4(position.xy, 0.0, 1.0);
}`;

const FRAGMENT = /* glsl */ `
#include <packing>
uniform sampler2D tColor;
uniform sampler2D tDepth;
uniform vec2 uTexel;
uniform float uNear;
uniform float uFar;
uniform float uStrength;
uniform float uRadius;
varying vec2 vUv;

float logDepth(vec2 uv) {
  float d = texture2D(tDepth, uv).x;
  if (d >= 1.0) return -1.0; // background
  float viewZ = perspectiveDepthToViewZ(d, uNear, uFar);
  return log2(max(-viewZ, 1e-6));
}

void main() {
  vec4 color = texture2D(tColor, vUv);
  float centre = logDepth(vUv);
  if (centre < 0.0) {
    gl_FragColor = color;
  } else {
    float response = 0.0;
    for (int i = 0; i < 8; i++) {
      float a = float(i) * 0.78539816;
      vec2 offset = vec2(cos(a), sin(a)) * uTexel * uRadius;
      float n = logDepth(vUv + offset);
      // A background neighbour is far away: the cloud's silhouette gets an outline.
      float neighbour = n < 0.0 ? centre + 4.0 : n;
      response += max(0.0, neighbour - centre);
    }
    float shade = exp(-(response / 8.0) * 300.0 * uStrength);
    gl_FragColor = vec4(color.rgb * shade, color.a);
  }
  #include <colorspace_fragment>
}`;

export class EyeDomeLighting {
  private target: THREE.WebGLRenderTarget;
  private readonly quad: THREE.Mesh<THREE.PlaneGeometry, THREE.ShaderMaterial>;
  private readonly quadScene = new THREE.Scene();
  private readonly quadCamera = new THREE.OrthographicCamera(-1, 1, 1, -1, 0, 1);
  // Kept typed here (ShaderMaterial.uniforms holds `any` values) so each frame's updates are checked.
  private readonly uniforms: {
    tColor: THREE.IUniform<THREE.Texture>;
    tDepth: THREE.IUniform<THREE.DepthTexture | null>;
    uTexel: THREE.IUniform<THREE.Vector2>;
    uNear: THREE.IUniform<number>;
    uFar: THREE.IUniform<number>;
    uStrength: THREE.IUniform<number>;
    uRadius: THREE.IUniform<number>;
  };
  strength = 1.0;
  radius = 1.4;

  constructor() {
    this.target = EyeDomeLighting.makeTarget(1, 1);
    this.uniforms = {
      tColor: { value: this.target.texture },
      tDepth: { value: this.target.depthTexture },
      uTexel: { value: new THREE.Vector2(1, 1) },
      uNear: { value: 0.1 },
      uFar: { value: 1000 },
      uStrength: { value: this.strength },
      uRadius: { value: this.radius },
    };
    const material = new THREE.ShaderMaterial({
      vertexShader: VERTEX,
      fragmentShader: FRAGMENT,
      uniforms: this.uniforms,
      depthTest: false,
      depthWrite: false,
    });
    this.quad = new THREE.Mesh(new THREE.PlaneGeometry(2, 2), material);
    this.quad.frustumCulled = false;
    this.quadScene.add(this.quad);
  }

  private static makeTarget(width: number, height: number): THREE.WebGLRenderTarget {
    const target = new THREE.WebGLRenderTarget(width, height, {
      depthTexture: new THREE.DepthTexture(width, height, THREE.UnsignedIntType),
      depthBuffer: true,
    });
    // sRGB storage: eight bits per channel without banding in the darks; sampling decodes.
    target.texture.colorSpace = THREE.SRGBColorSpace;
    return target;
  }

  /** Draws `scene` as seen by `camera` with eye-dome lighting (Viewer.renderPass). */
  render = (renderer: THREE.WebGLRenderer, scene: THREE.Scene, camera: THREE.PerspectiveCamera): void => {
    const size = renderer.getDrawingBufferSize(new THREE.Vector2());
    if (size.x !== this.target.width || size.y !== this.target.height) this.target.setSize(size.x, size.y);
    const u = this.uniforms;
    u.tColor.value = this.target.texture;
    u.tDepth.value = this.target.depthTexture;
    u.uTexel.value.set(1 / size.x, 1 / size.y);
    u.uNear.value = camera.near;
    u.uFar.value = camera.far;
    u.uStrength.value = this.strength;
    u.uRadius.value = this.radius;
    const previous = renderer.getRenderTarget();
    renderer.setRenderTarget(this.target);
    renderer.render(scene, camera);
    renderer.setRenderTarget(previous);
    renderer.render(this.quadScene, this.quadCamera);
  };

  dispose(): void {
    this.target.depthTexture?.dispose();
    this.target.dispose();
    this.quad.geometry.dispose();
    this.quad.material.dispose();
  }
}
