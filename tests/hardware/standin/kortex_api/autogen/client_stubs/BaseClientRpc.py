from kortex_api.autogen.messages import Base_pb2 as pb
from kortex_api.Exceptions.KServerException import KServerException

ERROR_IN_FAULT = 5  # stand-in code: the arm refuses motion while in fault
HOME_HANDLE = pb.ActionHandle(42)


class BaseClient:
    def __init__(self, router) -> None:
        self.router = router
        self._subscribers = {}

    def SendTwistCommand(self, command) -> None:
        device = self.router.device
        if device.fault:
            raise KServerException(ERROR_IN_FAULT, 0, "arm in fault")
        if command.reference_frame not in (
            pb.CARTESIAN_REFERENCE_FRAME_BASE,
            pb.CARTESIAN_REFERENCE_FRAME_TOOL,
        ):
            raise KServerException(2, 0, "unsupported reference frame")
        t = command.twist
        device.received.append(
            {
                "frame": command.reference_frame,
                "duration": command.duration,
                "linear": (t.linear_x, t.linear_y, t.linear_z),
                "angular": (t.angular_x, t.angular_y, t.angular_z),
            }
        )
        device.command_twist(
            (t.linear_x, t.linear_y, t.linear_z),
            (t.angular_x, t.angular_y, t.angular_z),
            frame_is_tool=command.reference_frame == pb.CARTESIAN_REFERENCE_FRAME_TOOL,
        )

    def Stop(self) -> None:
        self.router.device.twist = None

    def ApplyEmergencyStop(self) -> None:
        device = self.router.device
        device.twist = None
        device.fault |= 0x2

    def ClearFaults(self) -> None:
        self.router.device.fault = 0

    def GetArmState(self):
        fault = self.router.device.fault
        return pb.ArmStateInformation(pb.ARMSTATE_IN_FAULT if fault else pb.ARMSTATE_SERVOING_READY)

    def ReadAllActions(self, request):
        if request.action_type != pb.REACH_JOINT_ANGLES:
            return pb.ActionList([])
        return pb.ActionList(
            [pb.Action("Retract", pb.ActionHandle(7)), pb.Action("Home", HOME_HANDLE)]
        )

    def OnNotificationActionTopic(self, callback, options):
        handle = len(self._subscribers) + 1
        self._subscribers[handle] = callback
        return handle

    def Unsubscribe(self, handle) -> None:
        self._subscribers.pop(handle, None)

    def ExecuteActionFromReference(self, handle) -> None:
        device = self.router.device
        if handle.identifier != HOME_HANDLE.identifier or device.fault:
            event = pb.ACTION_ABORT
        else:
            device.home()
            event = pb.ACTION_END
        for callback in list(self._subscribers.values()):
            callback(pb.ActionNotification(event))
