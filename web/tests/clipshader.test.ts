import * as THREE from 'three';
import { describe, expect, it } from 'vitest';
import { axisPlane } from '../src/lib/clip';
import { installClipShader, setClipUniforms } from '../src/tools/clipshader';

function compile(material: THREE.Material): THREE.WebGLProgramParametersWithUniforms {
  const shader = {
    uniforms: {},
    vertexShader: THREE.ShaderLib.points.vertexShader,
    fragmentShader: THREE.ShaderLib.points.fragmentShader,
  } as unknown as THREE.WebGLProgramParametersWithUniforms;
  material.onBeforeCompile(shader, {} as THREE.WebGLRenderer);
  return shader;
}

describe('the clip shader hook', () => {
  it('keeps the material own hook and tests the vertex last in main()', () => {
    const material = new THREE.PointsMaterial();
    let ownHookRan = false;
    material.onBeforeCompile = () => void (ownHookRan = true);
    const uniforms = installClipShader(material);
    const shader = compile(material);
    expect(ownHookRan).toBe(true);
    expect(shader.uniforms.uClipMatrix).toBe(uniforms.uClipMatrix);
    const vs = shader.vertexShader;
    expect(vs).toContain('uniform vec4 uClipPlanes[4];');
    // The test follows every include that sets gl_Position and closes main().
    expect(vs.indexOf('clipOut')).toBeGreaterThan(vs.indexOf('#include <project_vertex>'));
    expect(vs.trimEnd().endsWith('}')).toBe(true);
    expect(vs).toContain('modelMatrix * vec4(transformed, 1.0)');
    expect(material.customProgramCacheKey()).toMatch(/\+clip$/);
  });

  it('sets the mode, box and planes as lib/clip.ts states them', () => {
    const uniforms = installClipShader(new THREE.PointsMaterial());
    setClipUniforms(uniforms, { mode: 'outside', min: [1, 2, 3], max: [4, 5, 6], planes: [axisPlane(2, 7, 'above')] });
    expect(uniforms.uClipMode.value).toBe(2);
    expect(uniforms.uClipMin.value.toArray()).toEqual([1, 2, 3]);
    expect(uniforms.uClipMax.value.toArray()).toEqual([4, 5, 6]);
    expect(uniforms.uClipPlaneCount.value).toBe(1);
    expect(uniforms.uClipPlanes.value[0]!.toArray()).toEqual([0, 0, -1, -7]);
    setClipUniforms(uniforms, { mode: 'inside', min: [0, 0, 0], max: [1, 1, 1], planes: [] });
    expect(uniforms.uClipMode.value).toBe(1);
    expect(uniforms.uClipPlaneCount.value).toBe(0);
  });
});
