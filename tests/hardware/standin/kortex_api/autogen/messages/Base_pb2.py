"""Message shapes of Base (only what the backend uses); enum values are the stand-in's own."""

CARTESIAN_REFERENCE_FRAME_UNSPECIFIED = 0
CARTESIAN_REFERENCE_FRAME_MIXED = 1
CARTESIAN_REFERENCE_FRAME_TOOL = 2
CARTESIAN_REFERENCE_FRAME_BASE = 3
REACH_JOINT_ANGLES = 7
ACTION_END = 1
ACTION_ABORT = 2
ARMSTATE_IN_FAULT = 3
ARMSTATE_SERVOING_READY = 6


class Twist:
    def __init__(self) -> None:
        self.linear_x = self.linear_y = self.linear_z = 0.0
        self.angular_x = self.angular_y = self.angular_z = 0.0


class TwistCommand:
    def __init__(self) -> None:
        self.reference_frame = CARTESIAN_REFERENCE_FRAME_UNSPECIFIED
        self.duration = 0
        self.twist = Twist()


class RequestedActionType:
    def __init__(self) -> None:
        self.action_type = 0


class ActionHandle:
    def __init__(self, identifier: int) -> None:
        self.identifier = identifier


class Action:
    def __init__(self, name: str, handle: ActionHandle) -> None:
        self.name, self.handle = name, handle


class ActionList:
    def __init__(self, actions) -> None:
        self.action_list = list(actions)


class NotificationOptions:
    pass


class ActionNotification:
    def __init__(self, action_event: int) -> None:
        self.action_event = action_event


class ArmStateInformation:
    def __init__(self, active_state: int) -> None:
        self.active_state = active_state
