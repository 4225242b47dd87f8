'use strict';

module.exports = {
  ...require('./errors'),
  ...require('./bridge_api'),
  ...require('./bridge_client'),
  ...require('./app_api_client'),
  ...require('./app_event_source'),
  ...require('./sse_parser'),
  ...require('./event_stream'),
  ...require('./bridge_connection'),
  ...require('./state_maps'),
  ...require('./flow_maps'),
  ...require('./flow_cards'),
  ...require('./widget_events'),
  convert: require('./convert'),
};
