'use strict';

const { BridgeDevice } = require('../../homey_shim/bridge_device');

/** Shows the bridge's smart_energy_device device; the state map and flow tables are homey_shim's. */
class SmartEnergyDeviceDevice extends BridgeDevice {}

module.exports = SmartEnergyDeviceDevice;
