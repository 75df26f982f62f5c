// NiiVue shows the image with the segmentation over it and the label names. It needs WebGL2; without it (headless
// browsers, some remote desktops) the page says so and everything else works: the viewer is the only part on the GPU.
import { NVImage, Niivue, SHOW_RENDER } from '@niivue/niivue';

const PALETTE = [
  [0, 0, 0],
  [230, 25, 75],
  [60, 180, 75],
  [255, 225, 25],
  [0, 130, 200],
  [245, 130, 48],
  [145, 30, 180],
  [70, 240, 240],
  [240, 50, 230],
  [210, 245, 60],
];

let nv: Niivue | null = null;

function webgl2Missing(): boolean {
  return document.createElement('canvas').getContext('webgl2') === null;
}

/** Label value → name; a region-based model's labels are its classes in order (value 1, 2, …). */
function labelNames(labels: Record<string, number | number[]>): Map<number, string> {
  const names = new Map<number, string>();
  let region = 0;
  for (const [name, value] of Object.entries(labels)) {
    if (typeof value === 'number') names.set(value, name);
    else if (!(value.length === 1 && value[0] === 0)) names.set(++region, name);
  }
  return names;
}

function legend(names: Map<number, string>): void {
  const box = document.getElementById('labels') as HTMLDivElement;
  box.replaceChildren();
  for (const [value, name] of names) {
    if (value === 0) continue;
    const span = document.createElement('span');
    const [r, g, b] = PALETTE[value % PALETTE.length];
    span.style.setProperty('--c', `rgb(${r}, ${g}, ${b})`);
    span.textContent = `${value}: ${name}`;
    box.append(span);
  }
}

export async function showInViewer(image: Uint8Array, imageName: string, segmentation: Uint8Array, labels: Record<string, number | number[]>): Promise<void> {
  const names = labelNames(labels);
  legend(names);
  const note = document.getElementById('viewer-note') as HTMLDivElement;
  const canvas = document.getElementById('viewer') as HTMLCanvasElement;
  if (webgl2Missing()) {
    note.textContent = 'The viewer needs WebGL2, which this browser does not offer: download the segmentation to view it.';
    return;
  }
  (document.getElementById('viewer-box') as HTMLDivElement).hidden = false;
  try {
    if (!nv) {
      // three slice views and no 3D render: the render is slow on software WebGL and adds nothing to checking labels
      nv = new Niivue({ backColor: [0, 0, 0, 1], multiplanarShowRender: SHOW_RENDER.NEVER });
      await nv.attachToCanvas(canvas);
    }
    for (const v of [...nv.volumes]) nv.removeVolume(v);
    // from the bytes in memory: nothing is fetched
    const copy = (bytes: Uint8Array) => bytes.slice().buffer;
    nv.addVolume(await NVImage.loadFromUrl({ url: imageName, name: imageName, buffer: copy(image) }));
    nv.addVolume(await NVImage.loadFromUrl({ url: 'segmentation.nii.gz', name: 'segmentation.nii.gz', buffer: copy(segmentation), opacity: 0.5 }));
    const max = Math.max(...names.keys());
    const I = Array.from({ length: max + 1 }, (_, v) => v);
    nv.volumes[1].setColormapLabel({
      R: I.map((v) => PALETTE[v % PALETTE.length][0]),
      G: I.map((v) => PALETTE[v % PALETTE.length][1]),
      B: I.map((v) => PALETTE[v % PALETTE.length][2]),
      A: I.map((v) => (v === 0 ? 0 : 255)),
      I,
      labels: I.map((v) => names.get(v) ?? String(v)),
    });
    nv.updateGLVolume();
    note.textContent = 'Hover for intensity and label name; scroll to change the slice.';
  } catch (err) {
    note.textContent = `The viewer could not show the result (${(err as Error).message}); the download is unaffected.`;
  }
}
