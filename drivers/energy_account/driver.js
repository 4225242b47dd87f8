'use strict';

const { BridgeDriver } = require('../../homey_shim/bridge_driver');

/** Pairs the bridge's energy_account devices; everything else is in BridgeDriver. */
class EnergyAccountDriver extends BridgeDriver {}

module.exports = EnergyAccountDriver;
