'use strict';

const { BridgeDriver } = require('../../homey_shim/bridge_driver');

/** Pairs the bridge's smart_energy_device devices; everything else is in BridgeDriver. */
class SmartEnergyDeviceDriver extends BridgeDriver {}

module.exports = SmartEnergyDeviceDriver;
