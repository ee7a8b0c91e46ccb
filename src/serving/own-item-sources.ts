/**
 * Sources that score only the customer's own items (buy-again's formula, repurchase's learned model),
 * by their names in the default recipe. What they put on a list is a repurchase: explained as "you
 * bought this before", and a list of one of them keeps the customer's purchases unless told otherwise
 * (leaving them out would leave nothing of it). A recipe that names such a source differently gets
 * neither rule for it.
 */
export const OWN_ITEM_SOURCES: ReadonlySet<string> = new Set(['buy-again', 'repurchase']);
