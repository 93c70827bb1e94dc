// The API's documentation (/api/docs): Swagger UI, served by the application
// itself (no third-party site), on the OpenAPI document named by the page.
"use strict";

window.ui = SwaggerUIBundle({
  url: document.getElementById("swagger-ui").dataset.openapi,
  dom_id: "#swagger-ui",
  deepLinking: true,
  presets: [SwaggerUIBundle.presets.apis],
  layout: "BaseLayout",
});
