/**
 * Clipping in the point shader: wraps a points material's onBeforeCompile so every vertex is
 * taken to the measuring frame (a world → measuring-frame matrix, set each frame, so it follows
 * VR moving and scaling the scene) and tested with the rule of lib/clip.ts; a clipped point is
 * moved outside the clip volume, as hidden classes are. The material file is not edited.
 *
 * Precision: world coordinates are small (the viewer re-centres the tileset), so float32 on
 * the GPU keeps millimetres even for a georeferenced (ECEF) tileset.
 */
import * as THREE from 'three';
import { MAX_CLIP_PLANES, type ClipState } from '../lib/clip';

export interface ClipUniforms {
  uClipMatrix: { value: THREE.Matrix4 };
  uClipMode: { value: number };
  uClipMin: { value: THREE.Vector3 };
  uClipMax: { value: THREE.Vector3 };
  uClipPlanes: { value: THREE.Vector4[] };
  uClipPlaneCount: { value: number };
}

const DECLARATIONS = `
uniform mat4 uClipMatrix;
uniform float uClipMode;
uniform vec3 uClipMin;
uniform vec3 uClipMax;
uniform vec4 uClipPlanes[${MAX_CLIP_PLANES}];
uniform float uClipPlaneCount;
`;

/** The same rule as lib/clip.ts clipKeeps, for a point already in the measuring frame. */
const TEST = (position: string) => `
  {
    vec3 clipP = (uClipMatrix * modelMatrix * vec4(${position}, 1.0)).xyz;
    bool clipOut = false;
    if (uClipMode > 0.5) {
      bool inside = all(greaterThanEqual(clipP, uClipMin)) && all(lessThanEqual(clipP, uClipMax));
      clipOut = uClipMode < 1.5 ? !inside : inside;
    }
    for (int i = 0; i < ${MAX_CLIP_PLANES}; i++) {
      if (float(i) < uClipPlaneCount && dot(uClipPlanes[i].xyz, clipP) > uClipPlanes[i].w) clipOut = true;
    }
    if (clipOut) gl_Position = vec4(2.0, 2.0, 2.0, 1.0); // outside the clip volume: not drawn
  }
`;

export function installClipShader(material: THREE.Material): ClipUniforms {
  const uniforms: ClipUniforms = {
    uClipMatrix: { value: new THREE.Matrix4() },
    uClipMode: { value: 0 },
    uClipMin: { value: new THREE.Vector3() },
    uClipMax: { value: new THREE.Vector3() },
    uClipPlanes: { value: Array.from({ length: MAX_CLIP_PLANES }, () => new THREE.Vector4()) },
    uClipPlaneCount: { value: 0 },
  };
  const previous = material.onBeforeCompile.bind(material);
  material.onBeforeCompile = (shader, renderer) => {
    previous(shader, renderer);
    Object.assign(shader.uniforms, uniforms);
    const vs = shader.vertexShader;
    const position = vs.includes('#include <begin_vertex>') ? 'transformed' : 'position';
    const declared = vs.includes('#include <common>') ? vs.replace('#include <common>', `#include <common>\n${DECLARATIONS}`) : `${DECLARATIONS}\n${vs}`;
    // The test runs last in main(), after whatever set gl_Position.
    const end = declared.lastIndexOf('}');
    shader.vertexShader = `${declared.slice(0, end)}${TEST(position)}${declared.slice(end)}`;
  };
  const key = material.customProgramCacheKey.bind(material);
  material.customProgramCacheKey = () => `${key()}+clip`;
  material.needsUpdate = true;
  return uniforms;
}

export function setClipUniforms(uniforms: ClipUniforms, clip: ClipState): void {
  uniforms.uClipMode.value = clip.mode === 'inside' ? 1 : clip.mode === 'outside' ? 2 : 0;
  uniforms.uClipMin.value.set(...clip.min);
  uniforms.uClipMax.value.set(...clip.max);
  const planes = clip.planes.slice(0, MAX_CLIP_PLANES);
  planes.forEach((p, i) => uniforms.uClipPlanes.value[i]!.set(p.normal[0], p.normal[1], p.normal[2], p.offset));
  uniforms.uClipPlaneCount.value = planes.length;
}
