'use strict';

module.exports = {
  ...require('./errors'),
  ...require('./bridge_client'),
  ...require('./sse_parser'),
  ...require('./event_stream'),
  ...require('./bridge_connection'),
  ...require('./state_maps'),
  ...require('./flow_maps'),
  ...require('./flow_cards'),
  convert: require('./convert'),
};
