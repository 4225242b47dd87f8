'use strict';

const { BridgeDevice } = require('../../homey_shim/bridge_device');
const { STATE_MAPS } = require('../../homey_shim/state_maps');

class EnergyAccountDevice extends BridgeDevice {
  get stateMap() {
    return STATE_MAPS.energy_account;
  }
}

module.exports = EnergyAccountDevice;
