// Starts GOV.UK Frontend's components (error summary focus, notification banners, service navigation).
import { initAll } from "../build/govuk-frontend.min.js";

initAll();
