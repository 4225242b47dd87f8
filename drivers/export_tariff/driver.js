'use strict';

const { BridgeDriver } = require('../../homey_shim/bridge_driver');

/** Pairs the bridge's export_tariff devices; everything else is in BridgeDriver. */
class ExportTariffDriver extends BridgeDriver {}

module.exports = ExportTariffDriver;
