'use strict';

const { BridgeDriver } = require('../../homey_shim/bridge_driver');

/** Pairs the bridge's gas_meter devices; everything else is in BridgeDriver. */
class GasMeterDriver extends BridgeDriver {}

module.exports = GasMeterDriver;
