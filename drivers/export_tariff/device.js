'use strict';

const { BridgeDevice } = require('../../homey_shim/bridge_device');

/** Shows the bridge's export_tariff device; the state map and flow tables are homey_shim's. */
class ExportTariffDevice extends BridgeDevice {}

module.exports = ExportTariffDevice;
