'use strict';

const { BridgeDevice } = require('../../homey_shim/bridge_device');

/** Shows the bridge's energy_account device; the state map and flow tables are homey_shim's. */
class EnergyAccountDevice extends BridgeDevice {}

module.exports = EnergyAccountDevice;
