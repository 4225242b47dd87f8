'use strict';

const { BridgeDriver } = require('../../homey_shim/bridge_driver');

/** Pairs the bridge's gas_tariff devices; everything else is in BridgeDriver. */
class GasTariffDriver extends BridgeDriver {}

module.exports = GasTariffDriver;
