'use strict';

const { BridgeDevice } = require('../../homey_shim/bridge_device');

/** Shows the bridge's gas_tariff device; the state map and flow tables are homey_shim's. */
class GasTariffDevice extends BridgeDevice {}

module.exports = GasTariffDevice;
