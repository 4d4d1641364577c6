/*
 * Cell renderers for dash-ag-grid (it looks them up on window.dashAgGridComponentFunctions).
 *
 * AppLink: a link to a page of this app that opens it the way dcc.Link does: the address is
 * pushed and Dash's router renders the page, instead of a full page load that fetches and
 * starts the application again (0.5-1 s before anything happened). Ctrl/Cmd/Shift/middle
 * clicks keep the browser's own behaviour (new tab or window). The text is a React text node,
 * so a name typed by an outsider is shown as text, never as markup.
 *
 * cellRendererParams: {hrefField: "<field holding the address>"}
 */
var dagcomponentfuncs = (window.dashAgGridComponentFunctions =
    window.dashAgGridComponentFunctions || {});

dagcomponentfuncs.AppLink = function (props) {
    var data = props.data;
    if (!data) {
        return null;
    }
    var field = (props.colDef.cellRendererParams || {}).hrefField || "href";
    var href = data[field];
    if (typeof href !== "string" || href.charAt(0) !== "/" || href.charAt(1) === "/") {
        return React.createElement("span", null, props.value);
    }
    function open(event) {
        if (event.button !== 0 || event.ctrlKey || event.metaKey || event.shiftKey || event.altKey) {
            return;
        }
        event.preventDefault();
        window.history.pushState({}, "", href);
        window.dispatchEvent(new CustomEvent("_dashprivate_pushstate"));
        window.scrollTo(0, 0);
    }
    return React.createElement("a", {href: href, onClick: open}, props.value);
};
