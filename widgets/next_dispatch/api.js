'use strict';

/*
 * The next-dispatch widget's API, run in the app: the bridge's smart energy devices
 * with their state (next dispatch, dispatching, boosting, planned dispatches), the
 * Homey's clock and time zone. Nothing is worked out here; the bridge decides.
 *   GET /devices
 */

module.exports = {
  async getDevices({ homey }) {
    return homey.app.getSmartDevices();
  },
};
