// Loads one tileset into a CesiumJS Viewer that can reach nothing but this machine: no ion
// token, no imagery, no terrain, no globe (a plain background, so every coloured pixel is
// a drawn point), and reports what Cesium said and where it put the tileset.
"use strict";

const BACKGROUND = Cesium.Color.fromBytes(32, 0, 48, 255);

window.spatialvizErrors = [];
Cesium.Ion.defaultAccessToken = "";

const viewer = new Cesium.Viewer("viewer", {
  baseLayer: false,
  baseLayerPicker: false,
  geocoder: false,
  homeButton: false,
  sceneModePicker: false,
  navigationHelpButton: false,
  animation: false,
  timeline: false,
  fullscreenButton: false,
  infoBox: false,
  selectionIndicator: false,
  globe: false,
  skyBox: false,
  skyAtmosphere: false,
  contextOptions: { webgl: { preserveDrawingBuffer: true, antialias: false } },
  // Frames only when asked for (tile loads ask, and so does settled()): SwiftShader draws
  // on the CPU, which the server and the tiler under test need while the page waits.
  requestRenderMode: true,
  maximumRenderTimeChange: Infinity,
});
viewer.scene.backgroundColor = BACKGROUND;
viewer.scene.fxaa = false;
viewer.scene.postProcessStages.fxaa.enabled = false;
viewer.scene.renderError.addEventListener((_scene, error) => {
  window.spatialvizErrors.push(`render error: ${error}`);
});

// Resolves once every tile is loaded and a few more frames were drawn after that (shaders
// are linked when a tile is first drawn, so a tile that cannot be drawn fails then), or as
// soon as Cesium reported an error (it stops rendering after a render error).
function settled(tileset, withinMs) {
  return new Promise((resolve, reject) => {
    const deadline = Date.now() + withinMs;
    let framesSinceLoaded = 0;
    const remove = viewer.scene.postRender.addEventListener(() => {
      framesSinceLoaded = tileset.tilesLoaded ? framesSinceLoaded + 1 : 0;
    });
    const check = () => {
      viewer.scene.requestRender();
      if (framesSinceLoaded >= 10 || window.spatialvizErrors.length) {
        remove();
        return resolve();
      }
      if (Date.now() > deadline) {
        remove();
        return reject(new Error(`tiles not loaded and drawn after ${withinMs} ms`));
      }
      setTimeout(check, 50);
    };
    check();
  });
}

// Everything the test asserts on, in one answer.
window.showTileset = async function showTileset(url, pointSize, withinMs) {
  const tileset = await Cesium.Cesium3DTileset.fromUrl(url, { maximumScreenSpaceError: 1 });
  tileset.tileFailed.addEventListener((failure) => {
    window.spatialvizErrors.push(`tile failed ${failure.url}: ${failure.message}`);
  });
  tileset.style = new Cesium.Cesium3DTileStyle({ pointSize });
  viewer.scene.primitives.add(tileset);
  await viewer.zoomTo(tileset);
  await settled(tileset, withinMs);
  const sphere = tileset.boundingSphere;
  const onScreen = Cesium.SceneTransforms.worldToWindowCoordinates(viewer.scene, sphere.center);
  const place = Cesium.Cartographic.fromCartesian(sphere.center);
  const canvas = viewer.scene.canvas;
  return {
    errors: window.spatialvizErrors,
    centre: onScreen ? [onScreen.x, onScreen.y] : null,
    canvas: [canvas.clientWidth, canvas.clientHeight],
    radius: sphere.radius,
    lonLatHeight: place
      ? [Cesium.Math.toDegrees(place.longitude), Cesium.Math.toDegrees(place.latitude), place.height]
      : null,
    background: [BACKGROUND.red, BACKGROUND.green, BACKGROUND.blue].map((c) => Math.round(c * 255)),
  };
};
// The drawing buffer alone (no DOM overlay such as Cesium's error panel), as a PNG data URL.
window.canvasPng = () => viewer.scene.canvas.toDataURL("image/png");
window.cesiumReady = true;
