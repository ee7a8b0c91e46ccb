/** The benchmarks read Online Retail with the same loader as `npm run tune -- --online-retail FILE`. */
export { loadOnlineRetail, ONLINE_RETAIL_PATH } from '../../src/cli/online-retail-input.js';
