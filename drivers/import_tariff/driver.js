'use strict';

const { BridgeDriver } = require('../../homey_shim/bridge_driver');

/** Pairs the bridge's import_tariff devices; everything else is in BridgeDriver. */
class ImportTariffDriver extends BridgeDriver {}

module.exports = ImportTariffDriver;
