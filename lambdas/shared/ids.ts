// Ids that several layers check (connectors, delivery, files); kept here so none of them imports another for a regex.

/** A Salesforce record id: 15 or 18 characters; checked because jsforce puts it into the URL path as is. */
export const RECORD_ID = /^[A-Za-z0-9]{15}(?:[A-Za-z0-9]{3})?$/;
