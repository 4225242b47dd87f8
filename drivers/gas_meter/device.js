'use strict';

const { BridgeDevice } = require('../../homey_shim/bridge_device');

/** Shows the bridge's gas_meter device; the state map and flow tables are homey_shim's. */
class GasMeterDevice extends BridgeDevice {}

module.exports = GasMeterDevice;
