'use strict';

const { BridgeDevice } = require('../../homey_shim/bridge_device');

/** Shows the bridge's import_tariff device; the state map and flow tables are homey_shim's. */
class ImportTariffDevice extends BridgeDevice {}

module.exports = ImportTariffDevice;
