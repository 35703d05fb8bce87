// Starts a static report: the run's records and config are embedded in the page as JSON.
'use strict';

(() => {
  const dataEl = document.getElementById('run-data');
  /** @type {{ records: MetricsRecord[], config: unknown }} */
  const data = JSON.parse(dataEl?.textContent ?? '{"records":[],"config":null}');
  const root = /** @type {HTMLElement} */ (document.getElementById('view'));
  const view = createRunView(root);
  view.setConfig(data.config);
  view.addRecords(data.records);
  renderConfig(/** @type {HTMLElement} */ (document.getElementById('config')), data.config);
  window.addEventListener('resize', () => view.resize());
})();
