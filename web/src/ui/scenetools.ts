/** The scene page's tools, loaded with the viewer (they need three.js; the home page does not). */
export { annotationsPanel } from './annotations';
export { chartHover } from './charthover';
export { bookmarksPanel, renderingControls } from './viewtools';
export { CameraFlight } from '../viewer/flight';
