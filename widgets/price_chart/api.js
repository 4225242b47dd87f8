'use strict';

/*
 * The price chart widget's API, run in the app. It asks the app's shared bridge
 * connection for a day's timeline and passes the bridge's answer through (pence per
 * kWh, quadrants and the current slot as the bridge computed them).
 *   GET /timeline?date=YYYY-MM-DD   (no date: the bridge's today)
 */

module.exports = {
  async getTimeline({ homey, query }) {
    return homey.app.getTimeline(query && query.date ? query.date : undefined);
  },
};
