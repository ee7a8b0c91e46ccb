/**
 * An erasures' worker thread that takes every job and never answers (a rewrite far longer than a shutdown may
 * take), for createServices' `startRedactionWorker`; `handedOver` resolves when the first job is handed to it.
 */
import { Worker } from 'node:worker_threads';

export function silentWorker(): { start: () => Worker; handedOver: Promise<void> } {
  let handed!: () => void;
  const handedOver = new Promise<void>((r) => (handed = r));
  const start = () => {
    const w = new Worker(`require('node:worker_threads').parentPort.on('message', () => {});`, { eval: true });
    const post = w.postMessage.bind(w);
    w.postMessage = (...args: Parameters<Worker['postMessage']>) => {
      post(...args);
      handed();
    };
    return w;
  };
  return { start, handedOver };
}
