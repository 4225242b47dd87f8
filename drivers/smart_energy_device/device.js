'use strict';

const { BridgeDevice } = require('../../homey_shim/bridge_device');
const { STATE_MAPS } = require('../../homey_shim/state_maps');

class SmartEnergyDeviceDevice extends BridgeDevice {
  get stateMap() {
    return STATE_MAPS.smart_energy_device;
  }
}

module.exports = SmartEnergyDeviceDevice;
