"""Public pages: server-rendered HTML in Chinese that residents open in a phone browser,
with no login, no personal data and no JavaScript. Each page's figures come from one data
function (:mod:`services.gateway.pages.data`) over the services' RPC, the same calls the
JSON API makes, so the page and the API cannot disagree."""
